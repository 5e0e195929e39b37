#pragma once
// Every route of the limiter's HTTP port as one table of no server's types
// (common/http/http_exchange.h): main.cc mounts it on cpp-httplib, unit tests call it in-process.

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/http/http_exchange.h"
#include "limiter/core/decision_service.h"
#include "limiter/core/decision_store.h"
#include "limiter/front/check_routes.h"
#include "limiter/front/rate_limit_headers.h"
#include "limiter/front/rls_service.h"

namespace rl::limiter {

// The active policy as GET /config shows it (API keys are counted, never listed). Pure.
nlohmann::json PolicyJson(const ActivePolicy& active);

// GET /health's report: HTTP status and body.
struct HealthReport {
  int status = 200;
  nlohmann::json body;
};

struct LimiterApi {
  DecisionService& service;
  RlsService& rls;       // POST /json: Envoy's rate limit service request as JSON
  AdminStore& admin;       // the admin endpoints' inspections and resets
  ApiKeyStore& api_keys;   // the admin endpoints' API keys, resolved as POST /check does
  std::function<HealthReport()> health;  // GET /health: every dependency, for people
  std::function<HealthReport()> ready;   // GET /ready: able to answer as configured
  common::MetricsRegistry& metrics;
  const common::Clock& clock;
  std::string admin_token;  // ADMIN_TOKEN; empty: admin endpoints answer 403
  std::string check_token;  // CHECK_TOKEN; set: POST /check needs it as a Bearer token
};

// POST /check, POST /check/batch, POST /json (a ShouldRateLimit request in proto3 JSON, as the
// reference service offers: 200 OK or 429 OVER_LIMIT with the response as JSON), GET /health, GET
// /ready, GET /config, GET /metrics, GET /live, and the admin endpoints GET and DELETE
// /limits/<user>?action=&api_key= (front/admin_routes.h). `api` must outlive the table's routes.
common::RouteTable LimiterRoutes(const LimiterApi& api);

}  // namespace rl::limiter
