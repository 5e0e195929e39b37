#include "limiter/front/http_api.h"

#include <google/protobuf/util/json_util.h>

#include "common/base/identifiers.h"
#include "common/base/request_id.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "limiter/core/api_key_resolver.h"

namespace rl::limiter {

using nlohmann::json;

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
  // The decision routes, in no server's types: mounted here, called as they are by unit tests.
  auto checks = std::make_shared<CheckRoutes>(api.service, api.rls, api.metrics, api.clock,
                                              api.check_token);
  auto mount = [checks](void (CheckRoutes::*handler)(const common::HttpRequestView&,
                                                     common::HttpAnswer&)) {
    return [checks, handler](const httplib::Request& req, httplib::Response& res) {
      common::HttpAnswer answer;
      ((*checks).*handler)(common::ViewOf(req), answer);
      common::Send(answer, res);
    };
  };
  common::Routes routes(server);
  routes.Post("/check", mount(&CheckRoutes::Check));
  routes.Post("/check/batch", mount(&CheckRoutes::CheckBatch));
  routes.Post("/json", mount(&CheckRoutes::Json));
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
