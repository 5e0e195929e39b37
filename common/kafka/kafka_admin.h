#pragma once
// Helpers shared by the Kafka producer and consumer.

#include <functional>
#include <map>
#include <string>

#include "common/base/settings.h"
#include "common/base/status.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace rl::common {

struct TopicSpec {
  std::string name;
  int partitions = 12;         // KAFKA_PARTITIONS
  int replication_factor = 1;  // KAFKA_REPLICATION_FACTOR
};

// Creates the topic through the client `rk` (producer or consumer) unless it already exists.
// Waits up to 10 s for the broker, checking `cancelled` (may be empty) every 200 ms.
Status CreateTopicIfMissing(rd_kafka_t* rk, const TopicSpec& spec,
                            const std::function<bool()>& cancelled);

// librdkafka security settings from the environment: KAFKA_SECURITY_PROTOCOL and every
// KAFKA_SASL_* and KAFKA_SSL_* variable, named as librdkafka names them with the prefix dropped,
// '_' as '.' and lower case (KAFKA_SSL_CA_LOCATION -> ssl.ca.location). Values are secrets:
// never log them. A property librdkafka does not know stops the start, naming it. KAFKA_DEBUG
// (librdkafka's `debug`, e.g. "broker,topic,msg,eos") adds its diagnostics at LOG_LEVEL=debug.
std::map<std::string, std::string> KafkaSecurityConfig(const EnvSource& env);

// Sets every property of `config` on `conf`; an error names the property (values may be secrets:
// never in the message). `conf` is left to the caller either way. Every client of the project is
// configured here, and none lets the broker auto-create a topic (allow.auto.create.topics=false,
// whatever `config` says): only CreateTopics makes one.
Status SetKafkaConfig(rd_kafka_conf_t* conf, std::map<std::string, std::string> config);

// Sends librdkafka's own log lines through spdlog, so they share the service's format.
void RouteKafkaLogsToSpdlog(rd_kafka_conf_t* conf);

}  // namespace rl::common
