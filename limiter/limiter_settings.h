#pragma once

#include <string>

#include "decision_service.h"
#include "http.h"
#include "kafka_producer.h"
#include "settings.h"

namespace rl::limiter {

// Every setting of the limiter binary; defaults here, documented in .env.
struct LimiterSettings {
  std::string host = "127.0.0.1";              // LIMITER_HOST
  int port = 8080;                             // LIMITER_PORT
  std::string redis_url = "redis://127.0.0.1:6379";  // REDIS_URL
  int redis_timeout_ms = 50;                   // REDIS_TIMEOUT_MS
  std::string fail_mode = "open";              // FAIL_MODE: open|closed
  int kafka_flush_timeout_ms = 10000;          // KAFKA_FLUSH_TIMEOUT_MS, on SIGTERM
  int health_kafka_timeout_ms = 500;           // HEALTH_KAFKA_TIMEOUT_MS
  std::string log_level = "info";              // LOG_LEVEL
  DecisionPolicy policy;                       // DEFAULT_*, FAIL_*, LIMITER_ID
  common::KafkaProducerOptions kafka;          // KAFKA_*
  common::HttpServerOptions http;              // HTTP_*
};

// Loads and validates; the error names the offending variable.
common::Result<LimiterSettings> LoadLimiterSettings(const common::EnvSource& env);

// Text for --help: every variable with its default.
std::string LimiterHelp();

}  // namespace rl::limiter
