#include "limiter/front/limiter_routes.h"

#include <memory>

#include "limiter/front/admin_routes.h"

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

common::RouteTable LimiterRoutes(const LimiterApi& api) {
  using common::HttpAnswer;
  using common::HttpRequestView;
  auto checks = std::make_shared<CheckRoutes>(api.service, api.rls, api.metrics, api.clock,
                                              api.check_token);
  auto admin = std::make_shared<AdminRoutes>(api.service, api.admin, api.api_keys, api.clock,
                                             api.admin_token);
  auto report = [](const std::function<HealthReport()>& of) {
    return [&of](const HttpRequestView&, HttpAnswer& answer) {
      HealthReport report = of();
      answer.Json(report.status, report.body);
    };
  };
  common::RouteTable routes;
  routes.PostAsync("/check", common::RouteTo(checks, &CheckRoutes::Check))
      .PostAsync("/check/batch", common::RouteTo(checks, &CheckRoutes::CheckBatch))
      .PostAsync("/json", common::RouteTo(checks, &CheckRoutes::Json))
      .Get("/health", report(api.health))
      // Readiness (a load balancer's or Kubernetes' probe): 200 while this limiter answers as
      // configured, which under FAIL_MODE=open includes answering fail_open without Redis.
      .Get("/ready", report(api.ready))
      // envoyproxy/ratelimit's probe path, for its Deployments as they are: 200 when ready,
      // else 500 (the reference's status), with /ready's body.
      .Get("/healthcheck",
           [&api](const HttpRequestView&, HttpAnswer& answer) {
             HealthReport ready = api.ready();
             answer.Json(ready.status == 200 ? 200 : 500, ready.body);
           })
      .Get("/config",
           [&api](const HttpRequestView&, HttpAnswer& answer) {
             answer.Json(200, PolicyJson(*api.service.policy()));
           })
      .Get(R"(/limits/(.+))", common::RouteTo(admin, &AdminRoutes::Inspect))
      .Delete(R"(/limits/(.+))", common::RouteTo(admin, &AdminRoutes::Reset));
  common::AddMetricsAndLiveness(routes, api.metrics);
  return routes;
}

}  // namespace rl::limiter
