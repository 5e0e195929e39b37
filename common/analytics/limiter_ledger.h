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

#include <string>
#include <string_view>

#include "common/base/identifiers.h"

namespace rl::common {

inline constexpr char kLimitersKey[] = "rla:limiters";
inline constexpr char kLimiterLedgerKeyPrefix[] = "rla:limiter:{";

inline std::string LimiterLedgerKey(std::string_view limiter_id) {
  std::string key = kLimiterLedgerKeyPrefix;
  AppendKeyEscaped(key, limiter_id);
  return key + "}";
}

}  // namespace rl::common
