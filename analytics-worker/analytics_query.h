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
  // {"limiters": [{"limiter_id", "seen", "max_sequence", "missing"}, ...]}: per limiter instance,
  // events counted, the highest event sequence, and the difference: events that limiter decided
  // but never got to Kafka (a crash with events in its buffer). Lists at most 1000 limiters.
  common::Result<nlohmann::json> Limiters();

 private:
  common::RedisPool& redis_;
  const common::Clock& clock_;
  const int minutes_;
  const common::LuaScript read_user_;
};

}  // namespace rl::analytics
