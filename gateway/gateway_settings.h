#pragma once

#include <string>

#include "common/base/settings.h"
#include "common/base/status.h"
#include "common/http/service.h"
#include "common/kafka/kafka_producer.h"
#include "common/redis/redis_client.h"
#include "gateway/gateway_api.h"
#include "gateway/limiter_pool.h"

namespace rl::gateway {

// Every setting of the gateway; defaults here, documented in .env.
struct GatewaySettings {
  common::ServiceSettings service{.port = 3000};  // GATEWAY_HOST, GATEWAY_PORT, LOG_LEVEL, HTTP_*
  LimiterPoolOptions limiters;  // LIMITER_URLS, LIMITER_TIMEOUT_MS, LIMITER_HEALTH_INTERVAL_MS
  GatewayOptions api;           // FAIL_MODE, FAIL_CLOSED_RETRY_AFTER_MS
  common::RedisEndpoint analytics_redis;  // ANALYTICS_REDIS_URL, else REDIS_URL
  int analytics_redis_timeout_ms = 1000;  // ANALYTICS_REDIS_TIMEOUT_MS
  int analytics_minutes = 60;             // ANALYTICS_LAST_MINUTES
  // The gateway's own fail-mode answers are decisions too: published as events (KAFKA_BROKERS,
  // KAFKA_TOPIC, KAFKA_LINGER_MS, KAFKA_QUEUE_MAX_MESSAGES, KAFKA_SECURITY_*), under this id.
  common::KafkaProducerOptions kafka;
  std::string gateway_id;             // GATEWAY_ID (gateway-<hostname>-<random>)
  int kafka_flush_timeout_ms = 5000;  // KAFKA_FLUSH_TIMEOUT_MS: at SIGTERM
  int progress_interval_ms = 1000;    // GATEWAY_PROGRESS_INTERVAL_MS: its ledger record
  int event_port = 0;  // GATEWAY_EVENT_PORT: /check, /check/batch, /api on event loops (0: off)
  int threads = 2;     // GATEWAY_THREADS: its event loops (default: the core count)
};

// Loads and validates; the error names the offending variable.
common::Result<GatewaySettings> LoadGatewaySettings(const common::EnvSource& env);

// Text for --help: every variable with its default.
std::string GatewayHelp();

}  // namespace rl::gateway
