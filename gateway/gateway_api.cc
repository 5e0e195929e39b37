#include "gateway/gateway_api.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/analytics/analytics_keys.h"
#include "common/base/identifiers.h"
#include "common/base/iso_time.h"
#include "common/base/outcomes.h"
#include "common/base/request_id.h"
#include "common/check/check_request.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "common/base/strict_json.h"
#include "gateway/dashboard.h"
#include "gateway/worker_status.h"

namespace rl::gateway {

using common::Result;
using common::Status;
using nlohmann::json;

namespace {

constexpr const char* kForwardedHeaders[] = {"RateLimit-Policy",  "RateLimit",
                                             "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                             "X-RateLimit-Reset", "Retry-After"};

void CopyRateLimitHeaders(const LimiterAnswer& answer, httplib::Response& res) {
  for (const char* name : kForwardedHeaders) {
    auto it = answer.headers.find(name);
    if (it != answer.headers.end()) res.set_header(name, it->second);
  }
}

// The answer when no limiter answered: the same shape as a limiter's fail-mode answer.
json FailModeBody(const GatewayOptions& options) {
  return common::CheckAnswerJson(
      {.allowed = options.fail_open,
       .retry_after_ms = options.fail_open ? 0 : options.fail_closed_retry_after_ms,
       .rule = "gateway",
       .outcome = options.fail_open ? "fail_open" : "fail_closed"});
}

void SendFailMode(const GatewayOptions& options, httplib::Response& res) {
  if (!options.fail_open) {
    res.set_header("Retry-After",
                   std::to_string(common::RetryAfterSeconds(options.fail_closed_retry_after_ms)));
  }
  common::SendJson(res, options.fail_open ? 200 : 503, FailModeBody(options));
}

// A batch no limiter answered: per item, the fail mode (a decision, published) or the item's own
// error, as the limiter would have answered it.
void SendBatchFailMode(const GatewayOptions& options, const common::BatchRequest& batch,
                       FailModeEvents* events, const std::string& request_id,
                       httplib::Response& res) {
  json fail_mode = FailModeBody(options);
  fail_mode["status"] = options.fail_open ? 200 : 503;
  json results = json::array();
  for (const auto& item : batch.items) {
    if (!item.ok()) {
      results.push_back(
          {{"status", 400},
           {"error", {{"code", "invalid_argument"}, {"message", item.status().message()}}}});
      continue;
    }
    if (events) events->Publish(item.value(), request_id);
    results.push_back(fail_mode);
  }
  common::SendJson(res, 200, {{"results", results}});
}

// Refuses a /check or /check/batch body the limiters would refuse (the same contract,
// common/check), whatever their state: true if `res` holds the refusal.
bool RefuseBody(const httplib::Request& req, size_t max_bytes, httplib::Response& res) {
  auto refused =
      common::RefuseCheckBody(common::IsJsonContentType(req), req.body.size(), max_bytes);
  if (!refused) return false;
  common::SendError(res, refused->status, refused->code, refused->message);
  return true;
}

template <typename T>
void SendResult(const Result<T>& result, json (*to_json)(const T&), httplib::Response& res) {
  if (result.ok()) return common::SendJson(res, 200, to_json(result.value()));
  spdlog::warn("gateway: analytics query failed: {}", result.status().message());
  common::SendError(res, 503, "unavailable", "analytics store unavailable");
}

// A client's text as an error message quotes it: at most 64 bytes, in JSON quotes; bytes that are
// not UTF-8 become U+FFFD (a plain dump would throw on them).
std::string QuoteForError(const std::string& text) {
  return json(text.substr(0, 64)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// An integer query parameter from `min` to `max`, `fallback` when absent.
Result<int> IntParam(const httplib::Request& req, const char* name, int fallback, int64_t min,
                     int64_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE || parsed < min || parsed > max) {
    return Status::InvalidArgument(std::string(name) + " must be an integer from " +
                                   std::to_string(min) + " to " + std::to_string(max) + ", not " +
                                   QuoteForError(v));
  }
  return static_cast<int>(parsed);
}

}  // namespace

json CountsJson(const analytics::Counts& c) {
  return {{"total", c.total},
          {"allowed", c.allowed},
          {"blocked", c.blocked},
          {"by_outcome", c.by_outcome.empty() ? json::object() : json(c.by_outcome)}};
}

json UserAnalyticsJson(const analytics::UserAnalytics& u) {
  json out = CountsJson(u.counts);
  out["user_id"] = u.user_id;
  json by_action = json::object();
  for (const auto& [action, n] : u.by_action) {
    by_action[action] = {{"allowed", n.allowed}, {"blocked", n.blocked}};
  }
  out["by_action"] = by_action;
  json by_rule = json::object();
  for (const auto& [rule, outcomes] : u.by_rule) by_rule[rule] = outcomes;
  out["by_rule"] = by_rule;
  json minutes = json::array();
  for (const auto& m : u.last_minutes) {
    minutes.push_back({{"minute", common::IsoUtc(m.minute * 60)},
                       {"minute_epoch_s", m.minute * 60},
                       {"allowed", m.allowed},
                       {"blocked", m.blocked}});
  }
  out["last_minutes"] = minutes;
  return out;
}

json TopRulesJson(const std::vector<analytics::RuleCount>& rules) {
  json list = json::array();
  for (const auto& r : rules) list.push_back({{"rule", r.rule}, {"blocked", r.blocked}});
  return {{"by", "rule"}, {"rules", list}};
}

json SeriesJson(const std::vector<analytics::SecondCounts>& seconds) {
  json list = json::array();
  for (const auto& s : seconds) {
    int64_t total = 0, allowed = 0;
    for (const auto& [outcome, n] : s.by_outcome) {
      total += n;
      if (common::OutcomeNameAdmits(outcome)) allowed += n;
    }
    list.push_back({{"time", common::IsoUtc(s.second)},
                    {"epoch_s", s.second},
                    {"total", total},
                    {"allowed", allowed},
                    {"blocked", total - allowed},
                    {"by_outcome", s.by_outcome.empty() ? json::object() : json(s.by_outcome)}});
  }
  return {{"seconds", list}};
}

json TopBlockedJson(const std::vector<analytics::BlockedUser>& users) {
  json list = json::array();
  for (const auto& u : users) list.push_back({{"user_id", u.user_id}, {"blocked", u.blocked}});
  return {{"by", "blocked"}, {"users", list}};
}

json LimitersJson(const std::vector<analytics::LimiterRecord>& limiters) {
  json list = json::array();
  for (const auto& r : limiters) {
    list.push_back({{"limiter_id", r.limiter_id},
                    {"decided", r.decided},
                    {"seen", r.seen},
                    {"max_sequence", r.max_sequence},
                    {"missing", r.missing},
                    {"state", r.state},
                    {"recorded_at_ms", r.recorded_at_ms},
                    {"record_age_ms", r.record_age_ms ? json(*r.record_age_ms) : json(nullptr)}});
  }
  return {{"limiters", list}};
}

Result<std::string> ApiCheckBody(const httplib::Request& req, const std::string& action,
                                 const common::TrustedProxies& trusted) {
  json check = {{"action", action}};
  if (!req.body.empty()) {
    if (!common::IsJsonContentType(req)) {
      return Status::InvalidArgument("a body must be JSON (Content-Type: application/json)");
    }
    auto parsed = common::ParseStrictJson(req.body);
    if (!parsed.ok()) return parsed.status();
    const json& doc = parsed.value();
    if (!doc.is_object()) return Status::InvalidArgument("body must be a JSON object");
    if (auto user = doc.find("user_id"); user != doc.end()) {
      if (!user->is_string()) return Status::InvalidArgument("user_id must be a string");
      check["user_id"] = *user;
    }
  }
  if (!check.contains("user_id") && req.has_header("X-User-Id")) {
    check["user_id"] = req.get_header_value("X-User-Id");
  }
  if (!check.contains("user_id") && req.has_header("X-API-Key")) {
    // The key alone: the limiter resolves it to its user. A key is a secret and never a user id.
    const std::string key = req.get_header_value("X-API-Key");
    if (!common::IsValidApiKey(key)) {
      return Status::InvalidArgument("X-API-Key must be 1.." +
                                     std::to_string(common::kMaxApiKeyBytes) +
                                     " printable ASCII characters");
    }
    check["api_key"] = key;
    return check.dump();
  }
  if (!check.contains("user_id")) {
    std::vector<std::string> forwarded_for;
    auto [first, last] = req.headers.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) forwarded_for.push_back(it->second);
    check["user_id"] = "ip:" + common::ClientAddress(req.remote_addr, forwarded_for, trusted);
  }
  if (!common::IsValidUserId(check["user_id"].get_ref<const std::string&>())) {
    return Status::InvalidArgument(
        std::string("user_id must be ") + common::kValidUserIdRule);
  }
  return check.dump();
}

void RegisterGatewayRoutes(httplib::Server& server, GatewayDeps& deps) {
  common::Counter& fail_mode_answers = deps.metrics.AddCounter(
      "rl_gateway_fail_mode_total", "Answers given by FAIL_MODE because no limiter answered",
      {{"outcome", deps.options.fail_open ? "fail_open" : "fail_closed"}});
  // The fail mode's answer to a valid request no limiter answered: a decision of the gateway's
  // own, counted, logged and published.
  auto no_limiter = [&deps, &fail_mode_answers](const common::CheckRequest& request,
                                                const std::string& request_id,
                                                httplib::Response& res) {
    fail_mode_answers.Inc();
    spdlog::warn("gateway: no limiter answered; answering {}",
                 deps.options.fail_open ? "fail_open" : "fail_closed");
    if (deps.fail_mode_events) deps.fail_mode_events->Publish(request, request_id);
    SendFailMode(deps.options, res);
  };

  common::Routes routes(server);
  routes.Post("/check", [&deps, no_limiter](const httplib::Request& req, httplib::Response& res) {
    const std::string request_id = common::TakeRequestId(req, res);
    const common::RequestIdScope in_request(request_id);
    if (!common::RequireBearerToken(req, res, deps.options.check_token)) return;
    // Bad input is refused here, as the limiter would, and never answered by the fail mode.
    if (RefuseBody(req, common::kMaxCheckBodyBytes, res)) return;
    auto request = common::ParseCheckRequest(req.body, common::kMaxCost);
    if (!request.ok()) {
      return common::SendError(res, 400, "invalid_argument", request.status().message());
    }
    auto answer =
        deps.limiters.Check("/check", req.body, req.get_header_value("Content-Type"), request_id);
    if (!answer) return no_limiter(request.value(), request_id, res);
    CopyRateLimitHeaders(*answer, res);
    res.status = answer->status;
    res.set_content(answer->body, "application/json");
  });

  // Forwarded unchanged like /check; if no limiter answers, every item gets the fail mode.
  routes.Post("/check/batch",
              [&deps, &fail_mode_answers](const httplib::Request& req, httplib::Response& res) {
                const std::string request_id = common::TakeRequestId(req, res);
                const common::RequestIdScope in_request(request_id);
                if (!common::RequireBearerToken(req, res, deps.options.check_token)) return;
                if (RefuseBody(req, common::kMaxBatchBodyBytes, res)) return;
                auto batch = common::ParseBatchRequest(req.body, common::kMaxCost);
                if (!batch.ok()) {
                  return common::SendError(res, 400, "invalid_argument", batch.status().message());
                }
                auto answer = deps.limiters.Check("/check/batch", req.body,
                                                  req.get_header_value("Content-Type"), request_id);
                if (!answer) {
                  fail_mode_answers.Inc();
                  spdlog::warn("gateway: no limiter answered a batch; answering {} for every item",
                               deps.options.fail_open ? "fail_open" : "fail_closed");
                  return SendBatchFailMode(deps.options, batch.value(), deps.fail_mode_events,
                                           request_id, res);
                }
                res.status = answer->status;
                res.set_content(answer->body, "application/json");
              });

  routes.Post("/api", [&deps, no_limiter](const httplib::Request& req, httplib::Response& res) {
    const std::string request_id = common::TakeRequestId(req, res);
    const common::RequestIdScope in_request(request_id);
    if (req.body.size() > kMaxApiBodyBytes) {
      return common::SendError(res, 413, "payload_too_large", "request body is too large");
    }
    auto check = ApiCheckBody(req, deps.options.api_action, deps.options.trusted_proxies);
    if (!check.ok())
      return common::SendError(res, 400, "invalid_argument", check.status().message());
    auto answer = deps.limiters.Check("/check", check.value(), "application/json", request_id);
    if (!answer) {
      auto request = common::ParseCheckRequest(check.value(), common::kMaxCost);  // valid: ours
      return no_limiter(request.ok() ? request.value() : common::CheckRequest{}, request_id, res);
    }
    CopyRateLimitHeaders(*answer, res);
    json decision = json::parse(answer->body, nullptr, false);
    if (answer->status == 200) {
      return common::SendJson(res, 200, {{"ok", true}, {"rate_limit", decision}});
    }
    if (answer->status == 429) {
      return common::SendJson(
          res, 429,
          {{"error", {{"code", "rate_limited"}, {"message", "too many requests; retry later"}}},
           {"rate_limit", decision}});
    }
    res.status = answer->status;  // 4xx from the limiter, or 503 fail_closed
    res.set_content(answer->body, "application/json");
  });

  routes.Get("/analytics", [&deps](const httplib::Request& req, httplib::Response& res) {
    if (!common::RequireBearerToken(req, res, deps.options.analytics_token)) return;
    SendResult(deps.analytics.Global(), &CountsJson, res);
  });
  routes.Get("/analytics/top", [&deps](const httplib::Request& req, httplib::Response& res) {
    if (!common::RequireBearerToken(req, res, deps.options.analytics_token)) return;
    std::string by = req.has_param("by") ? req.get_param_value("by") : "blocked";
    if (by != "blocked" && by != "rule") {
      return common::SendError(
          res, 400, "invalid_argument",
          "by must be blocked (users) or rule (rules), not " + QuoteForError(by));
    }
    auto limit = IntParam(req, "limit", 10, 1, 100);
    if (!limit.ok())
      return common::SendError(res, 400, "invalid_argument", limit.status().message());
    if (by == "rule") return SendResult(deps.analytics.TopRules(limit.value()), &TopRulesJson, res);
    SendResult(deps.analytics.TopBlocked(limit.value()), &TopBlockedJson, res);
  });
  routes.Get("/analytics/series", [&deps](const httplib::Request& req, httplib::Response& res) {
    if (!common::RequireBearerToken(req, res, deps.options.analytics_token)) return;
    auto seconds = IntParam(req, "seconds", 300, 1, analytics::kSeriesRetentionSeconds);
    if (!seconds.ok()) {
      return common::SendError(res, 400, "invalid_argument", seconds.status().message());
    }
    SendResult(deps.analytics.Series(seconds.value()), &SeriesJson, res);
  });
  // The workers are asked at most once a second, whoever asks how often: no request fans out into
  // more than one round of health checks a second.
  struct WorkersCache {
    std::mutex mu;
    std::chrono::steady_clock::time_point at;
    json body;
  };
  auto workers_cache = std::make_shared<WorkersCache>();
  routes.Get("/analytics/workers", [&deps, workers_cache](const httplib::Request& req,
                                                          httplib::Response& res) {
    if (!common::RequireBearerToken(req, res, deps.options.analytics_token)) return;
    std::lock_guard lock(workers_cache->mu);
    const auto now = std::chrono::steady_clock::now();
    if (workers_cache->body.is_null() || now - workers_cache->at > std::chrono::seconds(1)) {
      workers_cache->body = WorkersJson(FetchWorkerStatus(deps.options.worker_urls, 500));
      workers_cache->at = now;
    }
    common::SendJson(res, 200, workers_cache->body);
  });
  routes.Get("/analytics/limiters", [&deps](const httplib::Request& req, httplib::Response& res) {
    if (!common::RequireBearerToken(req, res, deps.options.analytics_token)) return;
    SendResult(deps.analytics.Limiters(), &LimitersJson, res);
  });
  // One user's analytics. /analytics/users/<user> reaches every user id, those that name another
  // endpoint (top, series, limiters, workers) included; /analytics/<user> is kept for the others.
  auto user_analytics = [&deps](const httplib::Request& req, httplib::Response& res) {
    if (!common::RequireBearerToken(req, res, deps.options.analytics_token)) return;
    const std::string user = req.matches[1];
    if (!common::IsValidUserId(user)) {
      return common::SendError(res, 400, "invalid_argument",
                               std::string("user must be ") + common::kValidUserIdRule);
    }
    SendResult(deps.analytics.User(user), &UserAnalyticsJson, res);
  };
  routes.Get(R"(/analytics/users/(.+))", user_analytics);
  routes.Get(R"(/analytics/(.+))", user_analytics);

  routes.Get("/health", [&deps](const httplib::Request&, httplib::Response& res) {
    int64_t latency_us = 0;
    Status redis = deps.ping_analytics(&latency_us);
    json limiters = json::array();
    bool any_limiter = false;
    for (const auto& [url, ok] : deps.limiters.Health()) {
      limiters.push_back({{"url", url}, {"ok", ok}});
      any_limiter = any_limiter || ok;
    }
    json body = {{"status", any_limiter ? (redis.ok() ? "ok" : "degraded") : "unavailable"},
                 {"analytics_redis", {{"ok", redis.ok()}, {"latency_ms", latency_us / 1000.0}}},
                 {"limiters", limiters}};
    common::SendJson(res, any_limiter ? 200 : 503, body);
  });
  // Readiness: 200 while the gateway answers as configured: a limiter is up, or FAIL_MODE=open
  // answers without one. Asks nothing (the health checks' last word), so it answers at once.
  routes.Get("/ready", [&deps](const httplib::Request&, httplib::Response& res) {
    const size_t up = deps.limiters.UpCount();
    const bool ready = up > 0 || deps.options.fail_open;
    common::SendJson(res, ready ? 200 : 503,
                     {{"ready", ready},
                      {"limiters_up", up},
                      {"fail_mode", deps.options.fail_open ? "open" : "closed"}});
  });
  RegisterDashboardRoutes(routes);
  common::ServeMetricsAndLiveness(routes, deps.metrics);
  routes.Finish();
}

}  // namespace rl::gateway
