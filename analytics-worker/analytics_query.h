#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "clock.h"
#include "redis_client.h"
#include "status.h"

namespace rl::analytics {

// Turns the reply of scripts/read_user.lua into the /analytics/<user> body:
// {"user_id", "total", "allowed", "blocked", "by_action": {"<a>": {"allowed", "blocked"}},
//  "by_outcome": {"<o>": n}, "last_minutes": [{"minute": <unix minute>, "allowed", "blocked"}]}.
// An unknown user gets zeros. Pure.
common::Result<nlohmann::json> UserAnalyticsJson(const std::string& user_id,
                                                 const common::RedisValue& reply);

// Reads what the workers wrote (analytics_keys.h). Thread-safe.
class AnalyticsQuery {
 public:
  // `minutes`: how many minutes, ending with the current one, last_minutes covers.
  AnalyticsQuery(common::RedisPool& redis, const common::Clock& clock, int minutes);

  common::Result<nlohmann::json> User(const std::string& user_id);
  // {"total", "allowed", "blocked", "by_outcome": {...}}
  common::Result<nlohmann::json> Global();
  // {"by": "blocked", "users": [{"user_id", "blocked"}, ...]} highest first.
  common::Result<nlohmann::json> TopBlocked(int limit);
  // {"limiters": [{"limiter_id", "decided", "seen", "max_sequence", "missing", "state",
  // "recorded_at_ms", "record_age_ms"}, ...]}: per limiter instance, how many events it decided
  // (its own record, written every LIMITER_PROGRESS_INTERVAL_MS, or the highest sequence counted
  // if that is newer), how many the workers counted, and the difference: events it decided that
  // never reached the counters (dropped, or lost in a crash). state is "running", "stopped" (a
  // clean shutdown) or "unknown" (no record); a "running" limiter whose record stopped ageing
  // less than a few intervals ago died. While events are in flight, missing includes them.
  // Lists at most 1000 limiters.
  common::Result<nlohmann::json> Limiters();

 private:
  common::RedisPool& redis_;
  const common::Clock& clock_;
  const int minutes_;
  const common::LuaScript read_user_;
};

}  // namespace rl::analytics
