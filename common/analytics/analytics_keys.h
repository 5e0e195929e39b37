#pragma once
// Where analytics live in Redis. Written by the worker, read by the gateway.
//
//   rla:u:{<user>}               hash   total, allowed, blocked, o:<outcome>,
//                                       a:<action>:allowed, a:<action>:blocked,
//                                       r:<rule>:<outcome> for every answer that was not
//                                       allowed by its rule (blocked, banned, shadow_blocked...)
//                                                                                   (permanent)
//   rla:u:{<user>}:m:<minute>    hash   allowed, blocked for one minute of event time
//                                       (<minute> = ts_ms / 60000), expires after the retention
//   rla:global                   hash   total, allowed, blocked, o:<outcome>
//   rla:top:blocked              zset   user -> blocked count
//   rla:top:rules                zset   rule -> blocked count (the rules that block most)
//   rla:g:s:<second>             hash   <outcome> -> answers in one second of event time, for the
//                                       live series; expires kSeriesRetentionSeconds after it
//   rla:offsets:<topic>          hash   partition -> next offset to apply (the consumer position)
//   rla:limiters, rla:limiter:{<limiter id>}: the limiter ledger, see
//   common/analytics/limiter_ledger.h
// User ids are escaped with common::AppendKeyEscaped, so every key is injective and one user's
// keys share a Redis Cluster slot.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/analytics/limiter_ledger.h"

namespace rl::analytics {

std::string UserKey(std::string_view user_id);
std::string UserMinuteKey(std::string_view user_id, int64_t minute);
inline constexpr char kGlobalKey[] = "rla:global";
inline constexpr char kTopBlockedKey[] = "rla:top:blocked";
inline constexpr char kTopRulesKey[] = "rla:top:rules";
inline constexpr int64_t kSeriesRetentionSeconds = 900;
std::string GlobalSecondKey(int64_t second);
std::string OffsetsKey(std::string_view topic);
using common::kLimitersKey;
using common::LimiterLedgerKey;

}  // namespace rl::analytics
