#pragma once

#include <string>

#include "common/base/settings.h"
#include "common/base/status.h"
#include "common/http/service.h"
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
};

// Loads and validates; the error names the offending variable.
common::Result<GatewaySettings> LoadGatewaySettings(const common::EnvSource& env);

// Text for --help: every variable with its default.
std::string GatewayHelp();

}  // namespace rl::gateway
