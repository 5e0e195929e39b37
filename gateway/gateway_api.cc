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
#include "common/http/http_exchange.h"
#include "common/base/strict_json.h"
#include "gateway/dashboard.h"
#include "gateway/worker_status.h"

namespace rl::gateway {

using common::HttpRequestView;
using common::Result;
using common::Status;
using nlohmann::json;

namespace {

constexpr const char* kForwardedHeaders[] = {"RateLimit-Policy",  "RateLimit",
                                             "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                             "X-RateLimit-Reset", "Retry-After"};

void CopyRateLimitHeaders(const LimiterAnswer& from, common::HttpAnswer& answer) {
  for (const char* name : kForwardedHeaders) {
    auto it = from.headers.find(name);
    if (it != from.headers.end()) answer.SetHeader(name, it->second);
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

void AnswerFailMode(const GatewayOptions& options, common::HttpAnswer& answer) {
  if (!options.fail_open) {
    answer.SetHeader("Retry-After",
                     std::to_string(common::RetryAfterSeconds(options.fail_closed_retry_after_ms)));
  }
  answer.Json(options.fail_open ? 200 : 503, FailModeBody(options));
}

// A batch no limiter answered: per item, the fail mode (a decision, published) or the item's own
// error, as the limiter would have answered it.
void AnswerBatchFailMode(const GatewayOptions& options, const common::BatchRequest& batch,
                         FailModeEvents* events, const std::string& request_id,
                         common::HttpAnswer& answer) {
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
  answer.Json(200, {{"results", results}});
}

// Refuses a /check or /check/batch body the limiters would refuse (the same contract,
// common/check), whatever their state: true if `answer` holds the refusal.
bool RefuseBody(const HttpRequestView& request, size_t max_bytes, common::HttpAnswer& answer) {
  auto refused = common::RefuseCheckBody(common::IsJsonContentType(request.content_type),
                                         request.body.size(), max_bytes);
  if (!refused) return false;
  answer.Error(refused->status, refused->code, refused->message);
  return true;
}

// The limiter's answer as it came: status, body and the rate limit headers.
void Relay(const LimiterAnswer& from, common::HttpAnswer& answer) {
  CopyRateLimitHeaders(from, answer);
  answer.status = from.status;
  answer.body = from.body;
}

template <typename T>
void AnswerResult(const Result<T>& result, json (*to_json)(const T&), common::HttpAnswer& answer) {
  if (result.ok()) return answer.Json(200, to_json(result.value()));
  spdlog::warn("gateway: analytics query failed: {}", result.status().message());
  answer.Error(503, "unavailable", "analytics store unavailable");
}

// A client's text as an error message quotes it: at most 64 bytes, in JSON quotes; bytes that are
// not UTF-8 become U+FFFD (a plain dump would throw on them).
std::string QuoteForError(std::string_view text) {
  return json(std::string(text.substr(0, 64)))
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// An integer query parameter from `min` to `max`, `fallback` when absent.
Result<int> IntParam(const HttpRequestView& request, const char* name, int fallback, int64_t min,
                     int64_t max) {
  const auto given = request.Param(name);
  if (!given) return fallback;
  const std::string v(*given);
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

// POST /check, /check/batch and /api: forwarded to a limiter through `limiters` (the threaded
// pool, or an event loop's), with the fail mode when none answers. Bad input is refused here, as
// the limiter would refuse it, never answered by the fail mode.
class ForwardRoutes {
 public:
  ForwardRoutes(GatewayDeps& deps, LimiterBackend& limiters)
      : deps_(deps),
        limiters_(limiters),
        fail_mode_answers_(deps.metrics.AddCounter(
            "rl_gateway_fail_mode_total", "Answers given by FAIL_MODE because no limiter answered",
            {{"outcome", deps.options.fail_open ? "fail_open" : "fail_closed"}})) {}

  void Check(const HttpRequestView& request, common::HttpResponder respond) {
    common::HttpAnswer answer;
    std::string request_id = common::TakeRequestId(request.request_id, answer);
    const common::RequestIdScope in_request(request_id);
    if (!Admit(request, common::kMaxCheckBodyBytes, answer)) return respond(std::move(answer));
    auto check = common::ParseCheckRequest(request.body, common::kMaxCost);
    if (!check.ok()) {
      answer.Error(400, "invalid_argument", check.status().message());
      return respond(std::move(answer));
    }
    limiters_.Forward(
        "/check", std::string(request.body), request.content_type, request_id,
        [this, check = std::move(check.value()), request_id, answer = std::move(answer),
         respond = std::move(respond)](std::optional<LimiterAnswer> from) mutable {
          if (!from) {
            NoLimiter(check, request_id, answer);
          } else {
            Relay(*from, answer);
          }
          respond(std::move(answer));
        });
  }

  // Forwarded unchanged like /check; if no limiter answers, every item gets the fail mode.
  void CheckBatch(const HttpRequestView& request, common::HttpResponder respond) {
    common::HttpAnswer answer;
    std::string request_id = common::TakeRequestId(request.request_id, answer);
    const common::RequestIdScope in_request(request_id);
    if (!Admit(request, common::kMaxBatchBodyBytes, answer)) return respond(std::move(answer));
    auto batch = common::ParseBatchRequest(request.body, common::kMaxCost);
    if (!batch.ok()) {
      answer.Error(400, "invalid_argument", batch.status().message());
      return respond(std::move(answer));
    }
    auto items = std::make_shared<common::BatchRequest>(std::move(batch.value()));
    limiters_.Forward(
        "/check/batch", std::string(request.body), request.content_type, request_id,
        [this, items, request_id, answer = std::move(answer),
         respond = std::move(respond)](std::optional<LimiterAnswer> from) mutable {
          if (!from) {
            fail_mode_answers_.Inc();
            spdlog::warn("gateway: no limiter answered a batch; answering {} for every item",
                         deps_.options.fail_open ? "fail_open" : "fail_closed");
            AnswerBatchFailMode(deps_.options, *items, deps_.fail_mode_events, request_id,
                                answer);
          } else {
            answer.status = from->status;
            answer.body = from->body;
          }
          respond(std::move(answer));
        });
  }

  // GET /proxy/check: a proxy's subrequest (nginx auth_request, Caddy forward_auth), checked as
  // ProxyCheckBody asks, answered as POST /api answers (2xx allowed; 429 blocked, 403 denied,
  // 401 an unknown key, 503 fail closed; the RateLimit headers and Retry-After). With
  // ?refused_status=401 (or 403), every refusal has that status instead and the real one in
  // X-RateLimit-Status: nginx's auth_request understands no other, and its config maps it back.
  void ProxyCheck(const HttpRequestView& request, common::HttpResponder respond) {
    common::HttpAnswer answer;
    std::string request_id = common::TakeRequestId(request.request_id, answer);
    const common::RequestIdScope in_request(request_id);
    int refused_status = 0;
    if (auto param = request.Param("refused_status")) {
      if (*param != "401" && *param != "403") {
        answer.Error(400, "invalid_argument", "refused_status must be 401 or 403");
        return respond(std::move(answer));
      }
      refused_status = *param == "401" ? 401 : 403;
    }
    auto check = ProxyCheckBody(request, deps_.options.proxy, deps_.options.trusted_proxies);
    if (!check.ok()) {
      answer.Error(400, "invalid_argument", check.status().message());
      return respond(std::move(answer));
    }
    CheckAsApi(check.value(), request_id, std::move(answer), std::move(respond), refused_status);
  }

  // POST /api: the caller's request, checked as `api_action` for its user (ApiCheckBody).
  void Api(const HttpRequestView& request, common::HttpResponder respond) {
    common::HttpAnswer answer;
    std::string request_id = common::TakeRequestId(request.request_id, answer);
    const common::RequestIdScope in_request(request_id);
    if (request.body.size() > kMaxApiBodyBytes) {
      answer.Error(413, "payload_too_large", "request body is too large");
      return respond(std::move(answer));
    }
    auto check = ApiCheckBody(request, deps_.options.api_action, deps_.options.trusted_proxies);
    if (!check.ok()) {
      answer.Error(400, "invalid_argument", check.status().message());
      return respond(std::move(answer));
    }
    CheckAsApi(check.value(), request_id, std::move(answer), std::move(respond));
  }

 private:
  // Whether a /check or /check/batch request may go on: the CHECK_TOKEN, then the body as the
  // limiters would refuse it (RefuseBody); answers it if not.
  bool Admit(const HttpRequestView& request, size_t max_bytes, common::HttpAnswer& answer) {
    if (!common::RequireBearerToken(request.authorization, deps_.options.check_token, answer)) {
      return false;
    }
    return !RefuseBody(request, max_bytes, answer);
  }

  // Sends `body` (a /check body of ours, valid) to the limiters and answers as POST /api does,
  // the fail mode if none answers. `refused_status` (non-zero): every refusal gets it instead,
  // the real status in X-RateLimit-Status.
  void CheckAsApi(const std::string& body, const std::string& request_id, common::HttpAnswer answer,
                  common::HttpResponder respond, int refused_status = 0) {
    limiters_.Forward(
        "/check", body, "application/json", request_id,
        [this, body, request_id, refused_status, answer = std::move(answer),
         respond = std::move(respond)](std::optional<LimiterAnswer> from) mutable {
          if (!from) {
            auto parsed = common::ParseCheckRequest(body, common::kMaxCost);  // valid: ours
            NoLimiter(parsed.ok() ? parsed.value() : common::CheckRequest{}, request_id, answer);
          } else {
            ApiAnswer(*from, answer);
          }
          if (refused_status != 0 && (answer.status < 200 || answer.status > 299)) {
            answer.SetHeader("X-RateLimit-Status", std::to_string(answer.status));
            answer.status = refused_status;
          }
          respond(std::move(answer));
        });
  }

  // The limiter's answer to a POST /api check, as the gateway answers the caller.
  static void ApiAnswer(const LimiterAnswer& from, common::HttpAnswer& answer) {
    CopyRateLimitHeaders(from, answer);
    json decision = json::parse(from.body, nullptr, false);
    if (from.status == 200) return answer.Json(200, {{"ok", true}, {"rate_limit", decision}});
    if (from.status == 429) {
      return answer.Json(
          429,
          {{"error", {{"code", "rate_limited"}, {"message", "too many requests; retry later"}}},
           {"rate_limit", decision}});
    }
    answer.status = from.status;  // 4xx from the limiter, or 503 fail_closed
    answer.body = from.body;
  }

  // The fail mode's answer to a valid request no limiter answered: a decision of the gateway's
  // own, counted, logged and published.
  void NoLimiter(const common::CheckRequest& request, const std::string& request_id,
                 common::HttpAnswer& answer) {
    fail_mode_answers_.Inc();
    spdlog::warn("gateway: no limiter answered; answering {}",
                 deps_.options.fail_open ? "fail_open" : "fail_closed");
    if (deps_.fail_mode_events) deps_.fail_mode_events->Publish(request, request_id);
    AnswerFailMode(deps_.options, answer);
  }

  GatewayDeps& deps_;
  LimiterBackend& limiters_;
  common::Counter& fail_mode_answers_;
};

// GET /analytics and below, each behind ANALYTICS_TOKEN when it is set.
class AnalyticsRoutes {
 public:
  explicit AnalyticsRoutes(GatewayDeps& deps) : deps_(deps) {}

  void Global(const HttpRequestView& request, common::HttpAnswer& answer) {
    if (!Authorized(request, answer)) return;
    AnswerResult(deps_.analytics.Global(), &CountsJson, answer);
  }

  void Top(const HttpRequestView& request, common::HttpAnswer& answer) {
    if (!Authorized(request, answer)) return;
    const std::string by(request.Param("by").value_or("blocked"));
    if (by != "blocked" && by != "rule") {
      return answer.Error(400, "invalid_argument",
                          "by must be blocked (users) or rule (rules), not " + QuoteForError(by));
    }
    auto limit = IntParam(request, "limit", 10, 1, 100);
    if (!limit.ok()) return answer.Error(400, "invalid_argument", limit.status().message());
    if (by == "rule") return AnswerResult(deps_.analytics.TopRules(limit.value()), &TopRulesJson, answer);
    AnswerResult(deps_.analytics.TopBlocked(limit.value()), &TopBlockedJson, answer);
  }

  void Series(const HttpRequestView& request, common::HttpAnswer& answer) {
    if (!Authorized(request, answer)) return;
    auto seconds = IntParam(request, "seconds", 300, 1, analytics::kSeriesRetentionSeconds);
    if (!seconds.ok()) return answer.Error(400, "invalid_argument", seconds.status().message());
    AnswerResult(deps_.analytics.Series(seconds.value()), &SeriesJson, answer);
  }

  // The workers are asked at most once a second, whoever asks how often: no request fans out
  // into more than one round of health checks a second.
  void Workers(const HttpRequestView& request, common::HttpAnswer& answer) {
    if (!Authorized(request, answer)) return;
    std::lock_guard lock(workers_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (workers_body_.is_null() || now - workers_at_ > std::chrono::seconds(1)) {
      workers_body_ = WorkersJson(FetchWorkerStatus(deps_.options.worker_urls, 500));
      workers_at_ = now;
    }
    answer.Json(200, workers_body_);
  }

  void Limiters(const HttpRequestView& request, common::HttpAnswer& answer) {
    if (!Authorized(request, answer)) return;
    AnswerResult(deps_.analytics.Limiters(), &LimitersJson, answer);
  }

  // One user's analytics, the user the route's one group.
  void User(const HttpRequestView& request, common::HttpAnswer& answer) {
    if (!Authorized(request, answer)) return;
    const std::string& user = request.path_params.front();
    if (!common::IsValidUserId(user)) {
      return answer.Error(400, "invalid_argument",
                          std::string("user must be ") + common::kValidUserIdRule);
    }
    AnswerResult(deps_.analytics.User(user), &UserAnalyticsJson, answer);
  }

 private:
  bool Authorized(const HttpRequestView& request, common::HttpAnswer& answer) const {
    return common::RequireBearerToken(request.authorization, deps_.options.analytics_token,
                                      answer);
  }

  GatewayDeps& deps_;
  std::mutex workers_mu_;
  std::chrono::steady_clock::time_point workers_at_;
  json workers_body_;
};

// GET /health: the analytics Redis and every limiter, asked now.
void AnswerHealth(GatewayDeps& deps, common::HttpAnswer& answer) {
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
  answer.Json(any_limiter ? 200 : 503, body);
}

// GET /ready: 200 while the gateway answers as configured: a limiter is up, or FAIL_MODE=open
// answers without one. Asks nothing (the health checks' last word), so it answers at once.
void AnswerReady(const GatewayDeps& deps, common::HttpAnswer& answer) {
  const size_t up = deps.limiters.UpCount();
  const bool ready = up > 0 || deps.options.fail_open;
  answer.Json(ready ? 200 : 503, {{"ready", ready},
                                  {"limiters_up", up},
                                  {"fail_mode", deps.options.fail_open ? "open" : "closed"}});
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

Result<std::string> ApiCheckBody(const HttpRequestView& request, const std::string& action,
                                 const common::TrustedProxies& trusted) {
  json check = {{"action", action}};
  if (!request.body.empty()) {
    if (!common::IsJsonContentType(request.content_type)) {
      return Status::InvalidArgument("a body must be JSON (Content-Type: application/json)");
    }
    auto parsed = common::ParseStrictJson(request.body);
    if (!parsed.ok()) return parsed.status();
    const json& doc = parsed.value();
    if (!doc.is_object()) return Status::InvalidArgument("body must be a JSON object");
    if (auto user = doc.find("user_id"); user != doc.end()) {
      if (!user->is_string()) return Status::InvalidArgument("user_id must be a string");
      check["user_id"] = *user;
    }
  }
  if (!check.contains("user_id") && request.HasHeader("X-User-Id")) {
    check["user_id"] = std::string(request.Header("X-User-Id"));
  }
  if (!check.contains("user_id") && request.HasHeader("X-API-Key")) {
    // The key alone: the limiter resolves it to its user. A key is a secret and never a user id.
    const std::string key(request.Header("X-API-Key"));
    if (!common::IsValidApiKey(key)) {
      return Status::InvalidArgument("X-API-Key must be 1.." +
                                     std::to_string(common::kMaxApiKeyBytes) +
                                     " printable ASCII characters");
    }
    check["api_key"] = key;
    return check.dump();
  }
  if (!check.contains("user_id")) {
    check["user_id"] = "ip:" + common::ClientAddress(request.remote_address,
                                                     request.HeaderValues("X-Forwarded-For"),
                                                     trusted);
  }
  if (!common::IsValidUserId(check["user_id"].get_ref<const std::string&>())) {
    return Status::InvalidArgument(
        std::string("user_id must be ") + common::kValidUserIdRule);
  }
  return check.dump();
}

common::RouteTable ForwardingRoutes(GatewayDeps& deps, LimiterBackend& limiters) {
  auto forward = std::make_shared<ForwardRoutes>(deps, limiters);
  common::RouteTable routes;
  routes.PostAsync("/check", common::RouteTo(forward, &ForwardRoutes::Check))
      .PostAsync("/check/batch", common::RouteTo(forward, &ForwardRoutes::CheckBatch))
      .PostAsync("/api", common::RouteTo(forward, &ForwardRoutes::Api))
      .GetAsync("/proxy/check", common::RouteTo(forward, &ForwardRoutes::ProxyCheck));
  return routes;
}

common::RouteTable GatewayRoutes(GatewayDeps& deps) {
  auto analytics = std::make_shared<AnalyticsRoutes>(deps);
  common::RouteTable routes = ForwardingRoutes(deps, deps.limiters);
  routes.Get("/analytics", common::RouteTo(analytics, &AnalyticsRoutes::Global))
      .Get("/analytics/top", common::RouteTo(analytics, &AnalyticsRoutes::Top))
      .Get("/analytics/series", common::RouteTo(analytics, &AnalyticsRoutes::Series))
      .Get("/analytics/workers", common::RouteTo(analytics, &AnalyticsRoutes::Workers))
      .Get("/analytics/limiters", common::RouteTo(analytics, &AnalyticsRoutes::Limiters))
      // /analytics/users/<user> reaches every user id, those that name another endpoint (top,
      // series, limiters, workers) included; /analytics/<user> is kept for the others.
      .Get(R"(/analytics/users/(.+))", common::RouteTo(analytics, &AnalyticsRoutes::User))
      .Get(R"(/analytics/(.+))", common::RouteTo(analytics, &AnalyticsRoutes::User))
      .Get("/health", [&deps](const HttpRequestView&,
                              common::HttpAnswer& answer) { AnswerHealth(deps, answer); })
      .Get("/ready", [&deps](const HttpRequestView&, common::HttpAnswer& answer) {
        AnswerReady(deps, answer);
      });
  AddDashboardRoutes(routes);
  common::AddMetricsAndLiveness(routes, deps.metrics);
  return routes;
}

}  // namespace rl::gateway
