#pragma once
// The consumer group's lag, whoever owns each partition: every partition's log end against the
// position stored with the analytics (the truth of what is applied; Kafka's committed offsets
// are only a copy), and what keeps a worker's health from saying "ok" while analytics freeze.

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/analytics/analytics_sink.h"
#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/kafka/kafka_group_probe.h"

namespace rl::analytics {

struct GroupLag {
  bool reachable = false;  // the brokers answered
  std::string error;       // why not
  int partitions = 0;
  std::string state;               // the group's
  std::vector<int32_t> unowned;    // partitions no member is assigned
  std::vector<int32_t> stalled;    // lag > 0 and no progress for stall_after_ms
  std::map<int32_t, int64_t> lag;  // per partition: log end - stored position
  int64_t total_lag = 0;
  int64_t measured_at_ms = 0;

  // Reachable, every partition owned, a stable group and nothing stalled.
  bool healthy() const {
    return reachable && unowned.empty() && stalled.empty() &&
           (state == "Stable" || partitions == 0);
  }
  nlohmann::json ToJson(int64_t now_ms) const;
};

// The lag of each partition: its log end minus its stored position (its log start where none is
// stored: where a new owner would begin). Pure.
std::map<int32_t, int64_t> PartitionLags(const common::KafkaGroupView& view,
                                         const std::map<int32_t, int64_t>& positions);

// Measures the group's lag (Measure(), every second from a thread of its own) and keeps the
// last measurement. A partition is stalled when its lag stayed above 0 while its stored position
// did not move for stall_after_ms: its owner is gone (killed, before the group notices after the
// session timeout) or stuck. Thread-safe.
class GroupLagMonitor {
 public:
  GroupLagMonitor(common::GroupProbe& probe, AnalyticsSink& sink, const common::Clock& clock,
                  common::MetricsRegistry& metrics, int64_t stall_after_ms);

  void Measure();
  // The last measurement; nullopt before the first.
  std::optional<GroupLag> Last() const;

 private:
  common::GroupProbe& probe_;
  AnalyticsSink& sink_;
  const common::Clock& clock_;
  const int64_t stall_after_ms_;
  common::Gauge& total_lag_;
  common::Gauge& unowned_;
  common::Gauge& stalled_;
  // Per partition: the position last seen and when it last moved (or the lag was 0).
  std::map<int32_t, std::pair<int64_t, int64_t>> progress_;  // only Measure's thread
  mutable std::mutex mu_;
  std::optional<GroupLag> last_;  // guarded by mu_
};

}  // namespace rl::analytics
