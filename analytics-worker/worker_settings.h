#pragma once

#include <string>

#include "analytics-worker/consumer_loop.h"
#include "common/base/settings.h"
#include "common/http/service.h"
#include "common/kafka/kafka_consumer.h"
#include "common/redis/redis_client.h"

namespace rl::analytics {

// Every setting of the analytics worker; defaults here, documented in .env.
struct WorkerSettings {
  common::ServiceSettings service{.port = 8090};  // WORKER_HOST, WORKER_PORT, LOG_LEVEL, HTTP_*
  common::RedisEndpoint redis;                    // ANALYTICS_REDIS_URL, else REDIS_URL
  int redis_timeout_ms = 1000;                    // ANALYTICS_REDIS_TIMEOUT_MS
  common::KafkaConsumerOptions kafka;             // KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_GROUP, ...
  ConsumerLoopOptions loop;                       // ANALYTICS_BATCH_*, ANALYTICS_RETENTION_MINUTES
  int group_lag_interval_ms = 1000;  // WORKER_GROUP_LAG_INTERVAL_MS: how often the group's lag
                                     // is measured (every partition, whoever owns it)
  int stall_after_ms = 5000;  // WORKER_STALL_AFTER_MS: a partition with a lag whose position has
                              // not moved for this long makes health degraded
};

common::Result<WorkerSettings> LoadWorkerSettings(const common::EnvSource& env);
std::string WorkerHelp();

}  // namespace rl::analytics
