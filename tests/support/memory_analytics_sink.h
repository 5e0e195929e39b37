#pragma once
// An in-memory AnalyticsSink for unit tests: positions and hash counters in maps, the same
// position check as the Redis sink, and failures on demand.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/analytics/analytics_sink.h"

namespace rl::analytics {

class MemorySink final : public AnalyticsSink {
 public:
  common::Result<ApplyResult> ApplyBatch(int32_t partition, int64_t first, int64_t next,
                                         const std::vector<AnalyticsOp>& ops) override {
    if (failure_) return *failure_;
    auto it = positions_.find(partition);
    if (it != positions_.end() && it->second != first) return ApplyResult{false, it->second};
    for (const AnalyticsOp& op : ops) {
      if (op.kind == AnalyticsOp::Kind::kHashIncrBy) hashes_[op.key][op.field] += op.amount;
    }
    positions_[partition] = next;
    ++batches_;
    return ApplyResult{true, next};
  }
  common::Result<std::map<int32_t, int64_t>> LoadPositions(
      const std::vector<int32_t>& partitions) override {
    if (failure_) return *failure_;
    std::map<int32_t, int64_t> out;
    for (int32_t p : partitions) {
      if (positions_.count(p)) out[p] = positions_[p];
    }
    return out;
  }
  common::Status Ping(int64_t*) override { return failure_ ? *failure_ : common::Status::Ok(); }

  void Fail(common::Status s) { failure_ = std::move(s); }
  void Recover() { failure_.reset(); }
  // Another owner applied up to `position`.
  void MoveTo(int32_t partition, int64_t position) { positions_[partition] = position; }
  int64_t Total(const std::string& key) { return hashes_[key]["total"]; }
  std::optional<int64_t> Position(int32_t p) const {
    auto it = positions_.find(p);
    return it == positions_.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
  int batches() const { return batches_; }

 private:
  std::optional<common::Status> failure_;
  std::map<int32_t, int64_t> positions_;
  std::map<std::string, std::map<std::string, int64_t>> hashes_;
  int batches_ = 0;
};

}  // namespace rl::analytics
