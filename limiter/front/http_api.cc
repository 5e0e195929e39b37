#include "limiter/front/http_api.h"

#include <google/protobuf/util/json_util.h>

#include "common/base/identifiers.h"
#include "common/base/request_id.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "limiter/core/api_key_resolver.h"

namespace rl::limiter {

using nlohmann::json;

int HttpStatusOf(Verdict verdict, int ban_status) {
  switch (verdict) {
    case Verdict::kAllowed:
    case Verdict::kShadowBlocked:
    case Verdict::kAllowlisted:
    case Verdict::kFailOpen:
      return 200;
    case Verdict::kBlocked:
      return 429;
    case Verdict::kBanned:
      return ban_status;
    case Verdict::kDenied:
      return 403;
    case Verdict::kFailClosed:
      return 503;
    case Verdict::kInvalid:
      return 400;
    case Verdict::kUnauthenticated:
      return 401;
  }
  return 500;
}

json CheckResultJson(const CheckResult& r) {
  switch (r.verdict) {
    case Verdict::kInvalid:
      return {{"error", {{"code", "invalid_argument"}, {"message", r.error_message}}}};
    case Verdict::kUnauthenticated:
      return {{"error", {{"code", "unauthenticated"}, {"message", r.error_message}}}};
    case Verdict::kAllowed:
    case Verdict::kShadowBlocked:
    case Verdict::kAllowlisted:
    case Verdict::kFailOpen:
    case Verdict::kBlocked:
    case Verdict::kBanned:
    case Verdict::kDenied:
    case Verdict::kFailClosed:
      break;
  }
  if (r.unlimited) {
    return {{"allowed", r.allowed()},
            {"unlimited", true},
            {"retry_after_ms", r.retry_after_ms},
            {"rule", r.rule},
            {"outcome", VerdictName(r.verdict)}};
  }
  return common::CheckAnswerJson({.allowed = r.allowed(),
                                  .limit = r.limit,
                                  .remaining = r.remaining,
                                  .reset_ms = r.reset_ms,
                                  .retry_after_ms = r.retry_after_ms,
                                  .rule = r.rule,
                                  .outcome = VerdictName(r.verdict)});
}

json PolicyJson(const ActivePolicy& active) {
  const Policy& p = active.policy;
  json rules = json::array();
  for (const Rule& r : p.rules) {
    json rule = {{"name", r.name},         {"algorithm", AlgorithmName(r.limit.algorithm)},
                 {"limit", r.limit.limit}, {"window_ms", r.limit.window_ms},
                 {"burst", r.limit.burst}, {"scope", ScopeName(r.scope)},
                 {"actions", r.actions},   {"shadow", r.shadow}};
    if (r.limit.refill_per_sec > 0) rule["refill_per_sec"] = r.limit.refill_per_sec;
    if (r.penalty.blocks > 0) {
      rule["penalty"] = {{"blocks", r.penalty.blocks},
                         {"within_ms", r.penalty.within_ms},
                         {"ban_ms", r.penalty.ban_ms}};
    }
    rules.push_back(rule);
  }
  json tiers = json::object();
  for (const auto& [tier, indexes] : p.tiers) {
    for (size_t i : indexes) tiers[tier].push_back(p.rules[i].name);
  }
  // Envoy-format domains (gRPC ShouldRateLimit, POST /json): where each came from and how many
  // descriptor limits it holds, nested ones included.
  json domains = json::object();
  for (const auto& [name, domain] : p.domains) {
    int64_t limits = 0;
    std::vector<const DescriptorNode*> pending;
    for (const auto& node : domain.descriptors) pending.push_back(&node);
    while (!pending.empty()) {
      const DescriptorNode* node = pending.back();
      pending.pop_back();
      limits += node->limit ? 1 : 0;
      for (const auto& child : node->descriptors) pending.push_back(&child);
    }
    domains[name] = {
        {"source", domain.source}, {"descriptors", domain.descriptors.size()}, {"limits", limits}};
  }
  return {{"version", p.version},
          {"hash", active.hash},
          {"source", p.source},
          {"loaded_at_ms", active.loaded_at_ms},
          {"shadow_mode", p.shadow_mode},
          {"ban_status", p.ban_status},
          {"default_tier", p.default_tier},
          {"rules", rules},
          {"tiers", tiers},
          {"domains", domains},
          {"api_keys", p.api_keys.size()},
          {"api_keys_redis_hash", p.api_keys_redis_hash},
          {"allow", {{"users", p.allow_users.size()}, {"api_keys", p.allow_api_keys.size()}}},
          {"deny", {{"users", p.deny_users.size()}, {"api_keys", p.deny_api_keys.size()}}}};
}

void RegisterLimiterRoutes(httplib::Server& server, const LimiterApi& api) {
  common::Histogram& latency = api.metrics.AddHistogram(
      "rl_check_duration_seconds", "Time to answer POST /check, parsing included",
      common::LatencyBuckets());
  auto rejected = [&api](const char* code) -> common::Counter& {
    return api.metrics.AddCounter("rl_check_rejected_total",
                                  "POST /check requests refused before any Redis call",
                                  {{"code", code}});
  };
  common::Counter& rejected_type = rejected("415");
  common::Counter& rejected_size = rejected("413");
  common::Counter& rejected_invalid = rejected("400");

  // What no check body can be, for /check and /check/batch alike: without the token (401), of
  // another content type (415), over `max_bytes` (413). True if the body may be parsed.
  auto admit = [&api, &rejected_type, &rejected_size](const httplib::Request& req,
                                                      httplib::Response& res, size_t max_bytes) {
    if (!common::RequireBearerToken(req, res, api.check_token)) return false;
    auto refused =
        common::RefuseCheckBody(common::IsJsonContentType(req), req.body.size(), max_bytes);
    if (!refused) return true;
    (refused->status == 415 ? rejected_type : rejected_size).Inc();
    common::SendError(res, refused->status, refused->code, refused->message);
    return false;
  };

  common::Routes routes(server);
  routes.Post("/check", [&api, &latency, admit, &rejected_invalid](const httplib::Request& req,
                                                                   httplib::Response& res) {
    const int64_t start_us = api.clock.MonotonicUs();
    if (!admit(req, res, kMaxCheckBodyBytes)) return;
    auto request = ParseCheckRequest(req.body, kMaxCost);
    if (!request.ok()) {
      rejected_invalid.Inc();
      return common::SendError(res, 400, "invalid_argument", request.status().message());
    }
    request->request_id = common::TakeRequestId(req, res);
    const common::RequestIdScope in_request(request->request_id);
    const std::vector<CheckRequest> one = {std::move(request.value())};
    Decisions decided = api.service.Decide(one);  // one policy, through to the status code
    const CheckResult& result = decided.results.front();
    for (auto& [name, value] : RateLimitHeaders(result)) res.set_header(name, value);
    common::SendJson(res, HttpStatusOf(result.verdict, decided.policy->policy.ban_status),
                     CheckResultJson(result));
    latency.Observe(static_cast<double>(api.clock.MonotonicUs() - start_us) / 1e6);
  });
  // Up to kMaxBatchChecks checks, each decided like POST /check (all or nothing on its own),
  // the store's part in one round trip; one result per check, in order, each with its "status"
  // (what /check would have answered) and a bad check an error of its own.
  common::Histogram& batch_latency = api.metrics.AddHistogram(
      "rl_check_batch_duration_seconds", "Time to answer POST /check/batch, parsing included",
      common::LatencyBuckets());
  routes.Post("/json", [&api, admit, &rejected_invalid](const httplib::Request& req,
                                                        httplib::Response& res) {
    if (!admit(req, res, kMaxBatchBodyBytes)) return;
    RateLimitRequest request;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // as the reference service's protojson
    if (!google::protobuf::util::JsonStringToMessage(req.body, &request, options).ok()) {
      rejected_invalid.Inc();
      return common::SendError(res, 400, "invalid_json",
                               "the body is not a RateLimitRequest in proto3 JSON");
    }
    const std::string request_id = common::TakeRequestId(req, res);
    const common::RequestIdScope in_request(request_id);
    auto answer = api.rls.Decide(request, request_id);
    if (!answer.ok()) {
      rejected_invalid.Inc();
      return common::SendError(res, 400, "invalid_argument", answer.status().message());
    }
    std::string out;
    (void)google::protobuf::util::MessageToJsonString(answer.value(), &out);
    res.status = answer->overall_code() == RateLimitResponse::OVER_LIMIT ? 429 : 200;
    res.set_content(out, "application/json");
  });
  routes.Post("/check/batch", [&api, &batch_latency, admit, &rejected_invalid](
                                  const httplib::Request& req, httplib::Response& res) {
    const int64_t start_us = api.clock.MonotonicUs();
    if (!admit(req, res, kMaxBatchBodyBytes)) return;
    auto batch = ParseBatchRequest(req.body, kMaxCost);
    if (!batch.ok()) {
      rejected_invalid.Inc();
      return common::SendError(res, 400, "invalid_argument", batch.status().message());
    }
    const std::string request_id = common::TakeRequestId(req, res);
    const common::RequestIdScope in_request(request_id);
    std::vector<CheckRequest> valid;
    for (const auto& item : batch->items) {
      if (item.ok()) {
        valid.push_back(item.value());
        valid.back().request_id = request_id;
      }
    }
    const Decisions decided = api.service.Decide(valid);
    const int ban_status = decided.policy->policy.ban_status;
    json results = json::array();
    size_t next = 0;
    for (const auto& item : batch->items) {
      if (!item.ok()) {
        rejected_invalid.Inc();
        results.push_back(
            {{"status", 400},
             {"error", {{"code", "invalid_argument"}, {"message", item.status().message()}}}});
        continue;
      }
      const CheckResult& r = decided.results[next++];
      json entry = CheckResultJson(r);
      entry["status"] = HttpStatusOf(r.verdict, ban_status);
      results.push_back(std::move(entry));
    }
    common::SendJson(res, 200, {{"results", results}});
    batch_latency.Observe(static_cast<double>(api.clock.MonotonicUs() - start_us) / 1e6);
  });
  routes.Get("/health", [&api](const httplib::Request&, httplib::Response& res) {
    HealthReport report = api.health();
    common::SendJson(res, report.status, report.body);
  });
  // Readiness (a load balancer's or Kubernetes' probe): 200 while this limiter answers as
  // configured, which under FAIL_MODE=open includes answering fail_open without Redis.
  routes.Get("/ready", [&api](const httplib::Request&, httplib::Response& res) {
    HealthReport report = api.ready();
    common::SendJson(res, report.status, report.body);
  });
  routes.Get("/config", [&api](const httplib::Request&, httplib::Response& res) {
    common::SendJson(res, 200, PolicyJson(*api.service.policy()));
  });
  common::ServeMetricsAndLiveness(routes, api.metrics);

  // Admin: the keys of every rule the request would be checked against, to inspect or reset.
  auto key_log = std::make_shared<common::LogThrottle>(api.clock);  // bad API-key entries
  auto admin = [&api, key_log](const httplib::Request& req, httplib::Response& res, bool reset) {
    if (api.admin_token.empty()) {
      return common::SendError(res, 403, "forbidden", "admin endpoints are off: set ADMIN_TOKEN");
    }
    if (!common::HasBearerToken(req, api.admin_token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      return common::SendError(res, 401, "unauthenticated", "Authorization: Bearer <ADMIN_TOKEN>");
    }
    CheckRequest request;
    request.user_id = req.matches[1];
    if (req.has_param("action")) request.action = req.get_param_value("action");
    if (req.has_param("api_key")) request.api_key = req.get_param_value("api_key");
    if (!common::IsValidUserId(request.user_id) || !common::IsValidAction(request.action)) {
      return common::SendError(res, 400, "invalid_argument", "invalid user or action");
    }
    auto active = api.service.policy();
    std::optional<ApiKey> key;
    if (!request.api_key.empty()) {  // the same resolver as POST /check
      auto resolved = ResolveApiKey(active->policy, api.api_keys, request.api_key, *key_log);
      if (!resolved.ok()) {
        return common::SendError(res, 503, "unavailable", resolved.status().message());
      }
      key = resolved.value();
    }
    Resolution resolution = Resolve(active->policy, request, key ? &*key : nullptr);
    if (resolution.kind == Resolution::Kind::kUnknownApiKey) {
      return common::SendError(res, 401, "unauthenticated", "unknown API key");
    }
    json rules = json::array();
    std::vector<std::string> keys;
    for (const RuleCheck& c : resolution.checks) {
      json rule = {
          {"rule", c.rule}, {"algorithm", AlgorithmName(c.params.algorithm)}, {"key", c.key}};
      for (const auto& [name, k] :
           {std::pair{"state", c.key}, {"ban", c.ban_key}, {"strikes", c.strike_key}}) {
        keys.push_back(k);
        if (reset) continue;
        auto state = api.admin.Inspect(k);
        if (!state.ok())
          return common::SendError(res, 503, "unavailable", state.status().message());
        rule[name] = {{"type", state->type}, {"fields", state->fields}, {"ttl_ms", state->ttl_ms}};
      }
      rules.push_back(rule);
    }
    json body = {{"user_id", resolution.user_id},
                 {"action", request.action},
                 {"tier", resolution.tier},
                 {"rules", rules}};
    if (reset) {
      auto deleted = keys.empty() ? common::Result<int64_t>(int64_t{0}) : api.admin.Delete(keys);
      if (!deleted.ok())
        return common::SendError(res, 503, "unavailable", deleted.status().message());
      body["deleted_keys"] = deleted.value();
    }
    common::SendJson(res, 200, body);
  };
  routes.Get(R"(/limits/(.+))", [admin](const httplib::Request& req, httplib::Response& res) {
    admin(req, res, false);
  });
  routes.Delete(R"(/limits/(.+))", [admin](const httplib::Request& req, httplib::Response& res) {
    admin(req, res, true);
  });
  routes.Finish();
}

}  // namespace rl::limiter
