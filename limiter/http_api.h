#pragma once

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "clock.h"
#include "decision_service.h"
#include "metrics.h"

namespace rl::limiter {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Response headers for a decision: RateLimit-Policy and RateLimit (IETF httpapi ratelimit-headers
// draft), X-RateLimit-Limit/Remaining/Reset (seconds until full), and Retry-After (seconds,
// rounded up) when the answer is not allowed. Fail-mode answers carry no limit state. Pure.
Headers RateLimitHeaders(const CheckResult& result);

// The JSON body of a /check answer. Pure.
nlohmann::json CheckResultJson(const CheckResult& result);

// GET /health's report: HTTP status and body.
struct HealthReport {
  int status = 200;
  nlohmann::json body;
};

struct LimiterApi {
  DecisionService& service;
  std::function<HealthReport()> health;
  common::MetricsRegistry& metrics;
  const common::Clock& clock;
};

// Registers POST /check, GET /health and GET /metrics. `api` must outlive the server.
void RegisterLimiterRoutes(httplib::Server& server, const LimiterApi& api);

}  // namespace rl::limiter
