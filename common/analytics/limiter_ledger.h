#pragma once
// The per-limiter ledger in the analytics Redis: how far each limiter instance says it decided,
// next to what the analytics workers counted of its events. The difference is what it lost.
//
//   rla:limiters                 set    limiter instance ids
//   rla:limiter:{<limiter id>}   hash   written by the limiter (limiter/progress_recorder.h):
//                                         decided (its highest event sequence so far),
//                                         recorded_at_ms, state (running | stopped)
//                                       written by the workers:
//                                         seen (events counted), max_sequence (highest counted)
// Ids are escaped with AppendKeyEscaped, so keys are injective.

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/base/identifiers.h"
#include "common/base/status.h"

namespace rl::common {

inline constexpr char kLimitersKey[] = "rla:limiters";
inline constexpr char kLimiterLedgerKeyPrefix[] = "rla:limiter:{";

inline std::string LimiterLedgerKey(std::string_view limiter_id) {
  std::string key = kLimiterLedgerKeyPrefix;
  AppendKeyEscaped(key, limiter_id);
  return key + "}";
}

}  // namespace rl::common

namespace rl::common {
class RedisPool;
}  // namespace rl::common

namespace rl::analytics {

// Where a limiter records how far it decided. Thread-safe.
class LimiterLedger {
 public:
  virtual ~LimiterLedger() = default;
  // Writes the limiter's entry: its highest event sequence so far, when, and its state
  // ("running" or "stopped"), and lists the limiter among the limiters.
  virtual common::Status Record(std::string_view limiter_id, uint64_t decided,
                                int64_t recorded_at_ms, std::string_view state) = 0;
};

// The ledger in the analytics Redis: HSET of the entry, and SADD to the set of limiters the first
// time an id records.
class RedisLimiterLedger final : public LimiterLedger {
 public:
  explicit RedisLimiterLedger(common::RedisPool& redis) : redis_(redis) {}
  common::Status Record(std::string_view limiter_id, uint64_t decided, int64_t recorded_at_ms,
                        std::string_view state) override;

 private:
  common::RedisPool& redis_;
  std::mutex mu_;
  std::set<std::string, std::less<>> registered_;  // ids already in the set of limiters
};

}  // namespace rl::analytics
