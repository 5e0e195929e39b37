#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/status.h"
#include "common/redis/redis_client.h"

namespace rl::analytics {

// Decisions counted: "allowed" counts allowed, fail_open, shadow_blocked and allowlisted answers,
// "blocked" counts blocked, fail_closed, banned and denied; by_outcome has each outcome by name.
struct Counts {
  int64_t total = 0;
  int64_t allowed = 0;
  int64_t blocked = 0;
  std::map<std::string, int64_t> by_outcome;
};

struct ActionCounts {
  int64_t allowed = 0;
  int64_t blocked = 0;
};

// One minute of event time (Unix minutes) with at least one decision.
struct MinuteCounts {
  int64_t minute = 0;
  int64_t allowed = 0;
  int64_t blocked = 0;
};

// One user's analytics; an unknown user has zeros everywhere.
struct UserAnalytics {
  std::string user_id;
  Counts counts;
  std::map<std::string, ActionCounts> by_action;
  std::vector<MinuteCounts> last_minutes;  // oldest first
  // rule -> outcome -> answers: which rules refused this user how often (r:<rule>:<outcome>).
  std::map<std::string, std::map<std::string, int64_t>> by_rule;
};

// Answers in one second of event time, by outcome.
struct SecondCounts {
  int64_t second = 0;  // Unix seconds
  std::map<std::string, int64_t> by_outcome;
};

struct RuleCount {
  std::string rule;
  int64_t blocked = 0;
};

struct BlockedUser {
  std::string user_id;
  int64_t blocked = 0;
};

// What one limiter instance decided against what the workers counted of it (limiter_ledger.h).
struct LimiterRecord {
  std::string limiter_id;
  int64_t decided = 0;  // its own record, or the highest sequence counted if that is newer
  int64_t seen = 0;     // events the workers counted
  int64_t max_sequence = 0;
  int64_t missing = 0;  // decided - seen: dropped, lost in a crash, or still in flight
  // "running", "stopped" (a clean shutdown), "stale" (running, but the record stopped ageing:
  // the limiter died) or "unknown" (no record)
  std::string state;
  int64_t recorded_at_ms = 0;
  std::optional<int64_t> record_age_ms;  // none without a record
};

// What a limiter's record says it is: `recorded_state`, except "stale" for a "running" record
// older than LimiterStaleAfterMs(interval_ms). Pure.
std::string LimiterState(const std::string& recorded_state, std::optional<int64_t> record_age_ms,
                         int64_t interval_ms);

// Parses the reply of scripts/read_user.lua. Pure.
common::Result<UserAnalytics> ParseUserAnalytics(const std::string& user_id,
                                                 const common::RedisValue& reply);

// Reads what the workers wrote (analytics_keys.h), as plain structs. Thread-safe.
class AnalyticsQuery {
 public:
  // `minutes`: how many minutes, ending with the current one, last_minutes covers.
  AnalyticsQuery(common::RedisPool& redis, const common::Clock& clock, int minutes);

  common::Result<UserAnalytics> User(const std::string& user_id);
  common::Result<Counts> Global();
  // The most blocked users, most first.
  common::Result<std::vector<BlockedUser>> TopBlocked(int limit);
  // Every limiter instance with a ledger (at most 1000), by id; a "running" limiter whose record
  // stopped ageing is "stale" (LimiterState).
  common::Result<std::vector<LimiterRecord>> Limiters();
  // The rules that blocked most, most first.
  common::Result<std::vector<RuleCount>> TopRules(int limit);
  // The last `seconds` whole seconds (up to kSeriesRetentionSeconds), oldest first, every second
  // present (zeros where nothing was answered), in one pipelined round trip.
  common::Result<std::vector<SecondCounts>> Series(int seconds);

 private:
  // The members of a sorted set with their scores, highest first.
  common::Result<std::vector<std::pair<std::string, int64_t>>> Top(const char* key, int limit);

  common::RedisPool& redis_;
  const common::Clock& clock_;
  const int minutes_;
  const common::LuaScript read_user_;
};

}  // namespace rl::analytics
