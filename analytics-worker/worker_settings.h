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
};

common::Result<WorkerSettings> LoadWorkerSettings(const common::EnvSource& env);
std::string WorkerHelp();

}  // namespace rl::analytics
