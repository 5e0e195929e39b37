#include "analytics-worker/worker_routes.h"

#include <nlohmann/json.hpp>

namespace rl::analytics {

void AnswerWorkerHealth(const WorkerHealth& health, common::HttpAnswer& answer) {
  const auto& group = health.group;
  const bool group_fresh =
      group && health.now_ms - group->measured_at_ms <= 3 * health.group_lag_interval_ms + 2000;
  const bool group_ok = group_fresh && group->healthy();
  nlohmann::json body = {
      {"status", !health.redis.ok() ? "unavailable"
                 : group_ok         ? "ok"
                                    : "degraded"},
      {"redis", {{"ok", health.redis.ok()}, {"latency_ms", health.redis_latency_us / 1000.0}}},
      {"assigned_partitions", health.assigned_partitions}};
  body["group"] = group ? group->ToJson(health.now_ms)
                        : nlohmann::json{{"healthy", false}, {"error", "not measured yet"}};
  if (group && !group_fresh) body["group"]["error"] = "measurement is stale";
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& [partition, lag] : health.partition_lags) {
    partitions.push_back({{"partition", partition}, {"lag", lag}});
  }
  body["partitions"] = partitions;
  if (!health.redis.ok()) body["redis"]["error"] = health.redis.message();
  answer.Json(health.redis.ok() ? 200 : 503, body);
}

common::RouteTable WorkerRoutes(std::function<WorkerHealth()> health,
                                const common::MetricsRegistry& metrics) {
  common::RouteTable routes;
  routes.Get("/health", [health = std::move(health)](const common::HttpRequestView&,
                                                     common::HttpAnswer& answer) {
    AnswerWorkerHealth(health(), answer);
  });
  common::AddMetricsAndLiveness(routes, metrics);
  return routes;
}

}  // namespace rl::analytics
