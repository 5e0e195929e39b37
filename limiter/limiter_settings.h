#pragma once

#include <string>

#include "common/base/circuit_breaker.h"
#include "common/base/settings.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "common/kafka/kafka_producer.h"
#include "common/redis/redis_client.h"
#include "limiter/core/decision_service.h"
#include "limiter/front/rls_service.h"
#include "limiter/front/xds_options.h"

namespace rl::limiter {

// Every setting of the limiter binary; defaults here, documented in .env.
struct LimiterSettings {
  common::ServiceSettings service{.port = 8080};   // LIMITER_HOST, LIMITER_PORT, LOG_LEVEL, HTTP_*
  std::string redis_mode = "standalone";           // REDIS_MODE: standalone|cluster
  common::RedisEndpoint redis;                     // REDIS_URL (redis://127.0.0.1:6379)
  std::vector<common::RedisEndpoint> redis_seeds;  // REDIS_URL in cluster mode: a,b,c
  int redis_timeout_ms = 50;                       // REDIS_TIMEOUT_MS
  int64_t blocked_cache_entries = 100000;          // BLOCKED_CACHE_ENTRIES (0: off)
  common::CircuitBreakerOptions breaker;           // REDIS_BREAKER_FAILURES, REDIS_BREAKER_OPEN_MS
  std::string fail_mode = "open";                  // FAIL_MODE: open|closed
  int kafka_flush_timeout_ms = 10000;              // KAFKA_FLUSH_TIMEOUT_MS, on SIGTERM
  int health_kafka_timeout_ms = 500;               // HEALTH_KAFKA_TIMEOUT_MS
  int kafka_startup_wait_ms = 5000;                // KAFKA_STARTUP_WAIT_MS
  ServiceOptions options;               // FAIL_MODE, FAIL_CLOSED_RETRY_AFTER_MS, LIMITER_ID
  int64_t default_capacity = 10;        // DEFAULT_CAPACITY (no limits file)
  double default_refill_per_sec = 1.0;  // DEFAULT_REFILL_PER_SEC (no limits file)
  std::string limits_file = "config/limits.yaml";  // LIMITS_FILE
  bool limits_file_required = false;               // LIMITS_FILE was set: it must exist
  bool defaults_set = false;  // DEFAULT_CAPACITY or DEFAULT_REFILL_PER_SEC given (env or .env)
  int limits_reload_interval_ms = 1000;            // LIMITS_RELOAD_INTERVAL_MS
  std::string admin_token;                         // ADMIN_TOKEN (never logged)
  std::string check_token;                         // CHECK_TOKEN (never logged)
  common::KafkaProducerOptions kafka;              // KAFKA_*
  common::RedisEndpoint analytics_redis;  // ANALYTICS_REDIS_URL, else REDIS_URL: the ledger
  int analytics_redis_timeout_ms = 1000;  // ANALYTICS_REDIS_TIMEOUT_MS
  int progress_interval_ms = 5;           // LIMITER_PROGRESS_INTERVAL_MS
  int grpc_port = 8081;                   // GRPC_PORT (0: no gRPC server)
  int grpc_max_concurrent_streams = 100;  // GRPC_MAX_CONCURRENT_STREAMS, per connection
  int event_port = 0;  // LIMITER_EVENT_PORT: /check on event loops (0: off; issue 22, in progress)
  int threads = 2;     // LIMITER_THREADS: its event loops (default: the core count)
  RlsOptions rls;                         // DESCRIPTOR_USER_KEYS, LIMIT_*_HEADER, SHADOW_MODE
  bool limits_ignore_dotfiles = false;    // LIMITS_IGNORE_DOTFILES: skip a directory's .files
  double descriptor_near_limit_ratio = 0.8;  // DESCRIPTOR_NEAR_LIMIT_RATIO (NEAR_LIMIT_RATIO)
  // HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED: not ready (/ready, /healthcheck) while no Envoy
  // ratelimit domain is loaded, as the reference.
  bool ready_needs_a_domain = false;
  // LIMITS_XDS_SERVER (host:port; empty: off): Envoy ratelimit configs from an xDS server instead
  // of LIMITS_FILE; not ready until the first one is applied unless LIMITS_XDS_FORCE_START.
  XdsOptions xds;
  bool xds_force_start = false;  // LIMITS_XDS_FORCE_START (FORCE_START_WITHOUT_INITIAL_CONFIG)
};

// Loads and validates; the error names the offending variable.
common::Result<LimiterSettings> LoadLimiterSettings(const common::EnvSource& env);

// Text for --help: every variable with its default.
std::string LimiterHelp();

}  // namespace rl::limiter
