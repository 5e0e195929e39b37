#pragma once
// Helpers shared by the Kafka producer and consumer.

#include <functional>
#include <string>

#include "status.h"

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

// Sends librdkafka's own log lines through spdlog, so they share the service's format.
void RouteKafkaLogsToSpdlog(rd_kafka_conf_t* conf);

}  // namespace rl::common
