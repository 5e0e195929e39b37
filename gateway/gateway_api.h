#pragma once
// The gateway's routes as one table of no server's types (common/http/http_exchange.h): main.cc
// mounts it on cpp-httplib, unit tests call it in-process (RouteTable::Serve).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/analytics/analytics_query.h"
#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/http/client_address.h"
#include "common/http/http_exchange.h"
#include "gateway/fail_mode_events.h"
#include "gateway/limiter_pool.h"
#include "gateway/proxy_check.h"

namespace rl::gateway {

struct GatewayOptions {
  bool fail_open = true;                      // FAIL_MODE=open|closed, when no limiter answers
  int64_t fail_closed_retry_after_ms = 1000;  // FAIL_CLOSED_RETRY_AFTER_MS
  std::string api_action = "api";             // the action POST /api is checked as
  std::string check_token;                    // CHECK_TOKEN: clients of POST /check must send it
  std::string analytics_token;                // ANALYTICS_TOKEN: clients of /analytics must send it
  std::vector<std::string> worker_urls;    // WORKER_URLS: the workers GET /analytics/workers asks
  common::TrustedProxies trusted_proxies;  // TRUSTED_PROXIES: whose X-Forwarded-For is believed
  ProxyCheckOptions proxy;                 // GET /proxy/check: PROXY_ROUTES, PROXY_*_HEADER, ...
};

// Everything the routes use; must outlive the server.
struct GatewayDeps {
  LimiterBackend& limiters;
  analytics::AnalyticsQuery& analytics;
  std::function<common::Status(int64_t*)> ping_analytics;
  common::MetricsRegistry& metrics;
  GatewayOptions options;
  FailModeEvents* fail_mode_events = nullptr;  // the gateway's own fail-mode decisions, if set
};

// The largest POST /api body, and the largest body forwarded (a /check/batch; the limiter's
// bounds).
inline constexpr size_t kMaxApiBodyBytes = 4096;
inline constexpr size_t kMaxForwardedBodyBytes = 64 * 1024;

// Picks the user of a POST /api request: the JSON body's user_id, else X-User-Id, else
// X-API-Key (sent alone as api_key, never as a user id: the limiter resolves it; a key is a
// secret), else the caller's address as "ip:<address>"
// (common::ClientAddress: X-Forwarded-For counts only from a trusted proxy). Returns the /check
// body to send, or why the request is invalid. Pure.
common::Result<std::string> ApiCheckBody(const common::HttpRequestView& request,
                                         const std::string& action,
                                         const common::TrustedProxies& trusted);

// The JSON bodies of the /analytics endpoints (the README documents each). Pure.
//   /analytics/<user>    user_id, total, allowed, blocked, by_action {<action>: {allowed,
//                        blocked}}, by_outcome {<outcome>: n}, by_rule {<rule>: {<outcome>: n}},
//                        last_minutes [{minute (ISO 8601 UTC), minute_epoch_s, allowed, blocked}]
//   /analytics           total, allowed, blocked, by_outcome
//   /analytics/top       by ("blocked"), users [{user_id, blocked}]; by=rule: rules [{rule,
//                        blocked}]
//   /analytics/series    seconds [{time (ISO 8601 UTC), epoch_s, total, allowed, blocked,
//                        by_outcome}], oldest first
//   /analytics/limiters  limiters [{limiter_id, decided, seen, max_sequence, missing, state,
//                        recorded_at_ms, record_age_ms (null without a record)}]
nlohmann::json UserAnalyticsJson(const analytics::UserAnalytics& user);
nlohmann::json CountsJson(const analytics::Counts& counts);
nlohmann::json TopBlockedJson(const std::vector<analytics::BlockedUser>& users);
nlohmann::json LimitersJson(const std::vector<analytics::LimiterRecord>& limiters);
nlohmann::json TopRulesJson(const std::vector<analytics::RuleCount>& rules);
nlohmann::json SeriesJson(const std::vector<analytics::SecondCounts>& seconds);

// POST /check, POST /check/batch and POST /api alone, forwarded through `limiters` (deps.limiters,
// or an event loop's pool: the routes of GATEWAY_EVENT_PORT). `deps` and `limiters` must outlive
// the table's routes.
common::RouteTable ForwardingRoutes(GatewayDeps& deps, LimiterBackend& limiters);

// ForwardingRoutes(deps, deps.limiters), and GET /analytics, GET /analytics/top, GET
// /analytics/series, GET /analytics/workers, GET /analytics/limiters, GET /analytics/<user> (and
// /analytics/users/<user>), GET /health, GET /ready, the dashboard, GET /metrics and GET /live.
// `deps` must outlive the table's routes.
common::RouteTable GatewayRoutes(GatewayDeps& deps);

}  // namespace rl::gateway
