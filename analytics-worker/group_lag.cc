#include "analytics-worker/group_lag.h"

#include <algorithm>

namespace rl::analytics {

nlohmann::json GroupLag::ToJson(int64_t now_ms) const {
  nlohmann::json partitions_json = nlohmann::json::array();
  for (const auto& [partition, l] : lag) {
    partitions_json.push_back({{"partition", partition}, {"lag", l}});
  }
  nlohmann::json out = {{"healthy", healthy()},
                        {"reachable", reachable},
                        {"state", state},
                        {"partitions", partitions},
                        {"unowned", unowned},
                        {"stalled", stalled},
                        {"total_lag", total_lag},
                        {"lag", partitions_json},
                        {"age_ms", std::max<int64_t>(0, now_ms - measured_at_ms)}};
  if (!error.empty()) out["error"] = error;
  return out;
}

std::map<int32_t, int64_t> PartitionLags(const common::KafkaGroupView& view,
                                         const std::map<int32_t, int64_t>& positions) {
  std::map<int32_t, int64_t> lags;
  for (const auto& [partition, end] : view.log_end) {
    auto stored = positions.find(partition);
    auto start = view.log_start.find(partition);
    const int64_t from = stored != positions.end()       ? stored->second
                         : start != view.log_start.end() ? std::max<int64_t>(0, start->second)
                                                         : 0;
    lags[partition] = std::max<int64_t>(0, end - from);
  }
  return lags;
}

GroupLagMonitor::GroupLagMonitor(common::GroupProbe& probe, AnalyticsSink& sink,
                                 const common::Clock& clock, common::MetricsRegistry& metrics,
                                 int64_t stall_after_ms)
    : probe_(probe),
      sink_(sink),
      clock_(clock),
      stall_after_ms_(stall_after_ms),
      total_lag_(metrics.AddGauge("rl_analytics_group_lag",
                                  "Events of every partition not yet applied, whoever owns it")),
      unowned_(metrics.AddGauge("rl_analytics_group_unowned_partitions",
                                "Partitions no member of the consumer group is assigned")),
      stalled_(metrics.AddGauge("rl_analytics_group_stalled_partitions",
                                "Partitions with a lag whose position has not moved lately")) {}

void GroupLagMonitor::Measure() {
  GroupLag lag;
  const int64_t now_ms = clock_.NowMs();
  lag.measured_at_ms = now_ms;
  auto view = probe_.Probe();
  if (!view.ok()) {
    lag.error = view.status().message();
  } else {
    std::vector<int32_t> all;
    for (int32_t p = 0; p < view->partitions; ++p) all.push_back(p);
    auto positions = sink_.LoadPositions(all);
    if (!positions.ok()) {
      lag.error = "analytics redis: " + positions.status().message();
    } else {
      lag.reachable = true;
      lag.partitions = view->partitions;
      lag.state = view->state;
      lag.lag = PartitionLags(view.value(), positions.value());
      for (int32_t p : all) {
        if (!view->owned.count(p)) lag.unowned.push_back(p);
        const int64_t l = lag.lag[p];
        lag.total_lag += l;
        auto pos = positions->find(p);
        const int64_t position = pos == positions->end() ? -1 : pos->second;
        auto [it, fresh] = progress_.try_emplace(p, position, now_ms);
        if (l == 0 || it->second.first != position) it->second = {position, now_ms};
        if (!fresh && l > 0 && now_ms - it->second.second >= stall_after_ms_) {
          lag.stalled.push_back(p);
        }
      }
    }
  }
  total_lag_.Set(lag.total_lag);
  unowned_.Set(static_cast<int64_t>(lag.unowned.size()));
  stalled_.Set(static_cast<int64_t>(lag.stalled.size()));
  std::lock_guard lock(mu_);
  last_ = std::move(lag);
}

std::optional<GroupLag> GroupLagMonitor::Last() const {
  std::lock_guard lock(mu_);
  return last_;
}

}  // namespace rl::analytics
