#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/analytics/analytics_op.h"
#include "common/base/status.h"
#include "common/redis/redis_client.h"

namespace rl::analytics {

struct ApplyResult {
  bool applied = false;
  int64_t position = 0;  // the partition's stored position after the call
};

// Where analytics and consumer positions live. Thread-safe.
class AnalyticsSink {
 public:
  virtual ~AnalyticsSink() = default;
  // Applies `ops` and moves the partition's position from `first` to `next`, atomically, only
  // if the stored position is `first` (or none is stored). A failed Result: nothing is known to
  // have happened (Redis unreachable); retrying is safe because of the position check.
  virtual common::Result<ApplyResult> ApplyBatch(int32_t partition, int64_t first, int64_t next,
                                                 const std::vector<AnalyticsOp>& ops) = 0;
  // Stored positions of these partitions; partitions with none are absent.
  virtual common::Result<std::map<int32_t, int64_t>> LoadPositions(
      const std::vector<int32_t>& partitions) = 0;
  virtual common::Status Ping(int64_t* latency_us) = 0;
};

// AnalyticsSink over Redis: one EVALSHA of scripts/apply_batch.lua per batch.
class RedisAnalyticsSink final : public AnalyticsSink {
 public:
  RedisAnalyticsSink(common::RedisPool& redis, std::string topic, const common::Clock& clock);
  common::Result<ApplyResult> ApplyBatch(int32_t partition, int64_t first, int64_t next,
                                         const std::vector<AnalyticsOp>& ops) override;
  common::Result<std::map<int32_t, int64_t>> LoadPositions(
      const std::vector<int32_t>& partitions) override;
  common::Status Ping(int64_t* latency_us) override;

 private:
  common::RedisPool& redis_;
  const std::string offsets_key_;
  const common::Clock& clock_;
  const common::LuaScript script_;
};

}  // namespace rl::analytics
