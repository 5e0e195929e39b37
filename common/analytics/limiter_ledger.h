#pragma once
// The per-limiter ledger in the analytics Redis: how far each limiter instance says it decided,
// next to what the analytics workers counted of its events. The difference is what it lost.
//
//   rla:limiters                 set    limiter instance ids
//   rla:limiter:{<limiter id>}   hash   written by the limiter (common/analytics/progress_recorder.h):
//                                         decided (its highest event sequence so far),
//                                         recorded_at_ms, state (running | stopped),
//                                         interval_ms (how often it records)
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

// A "running" record that has not been renewed for this long belongs to a limiter that died
// (SIGKILL, a lost machine): at least 10 s, and 5 recording intervals.
inline int64_t LimiterStaleAfterMs(int64_t interval_ms) {
  return interval_ms * 5 > 10'000 ? interval_ms * 5 : 10'000;
}

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
  // `interval_ms`: how often the limiter records (LIMITER_PROGRESS_INTERVAL_MS), stored so
  // that readers can tell a record that stopped ageing (a dead limiter) from a slow one.
  explicit RedisLimiterLedger(common::RedisPool& redis, int64_t interval_ms = 0)
      : redis_(redis), interval_ms_(interval_ms) {}
  common::Status Record(std::string_view limiter_id, uint64_t decided, int64_t recorded_at_ms,
                        std::string_view state) override;

 private:
  common::RedisPool& redis_;
  const int64_t interval_ms_;
  std::mutex mu_;
  std::set<std::string, std::less<>> registered_;  // ids already in the set of limiters
};

}  // namespace rl::analytics
