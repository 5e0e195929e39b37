#pragma once
// One rule applied to one request, and the store's answer per rule: what the decision core hands
// to a DecisionStore and gets back (limiter/store/scripts/policy.lua decides them all in one call).

#include <cstdint>
#include <string>
#include <vector>

#include "limiter/core/algorithm/algorithms.h"
#include "limiter/core/algorithm/rate_limit_unit.h"

namespace rl::limiter {

struct Penalty {
  int64_t blocks = 0;     // ban after this many blocks (0: never)
  int64_t within_ms = 0;  // counted within this time
  int64_t ban_ms = 0;     // for this long
};

// One rule applied to one request.
struct RuleCheck {
  std::string rule;        // name, for answers and headers
  std::string key;         // where the algorithm's state lives
  std::string ban_key;     // set while the key is banned
  std::string strike_key;  // blocks counted towards a ban
  LimitParams params;
  int64_t cost = 1;
  bool shadow = false;  // would-be blocks are reported, never enforced nor charged
  // Envoy's rate limit service counts a fixed window's hits over the limit too (its counter runs
  // past the limit), so a descriptor's later requests in the window see that: charged even when
  // refused. Every other check is all or nothing.
  bool charge_when_over = false;
  Penalty penalty;
  RateLimitUnit unit = RateLimitUnit::kUnknown;  // a descriptor limit's unit, for Envoy's answer
};

struct RuleAnswer {
  bool allowed = false;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_after_ms = 0;
  int64_t banned_ms = 0;  // > 0: the key is banned for this long
};

struct RulesAnswer {
  bool refused_by_ban = false;    // a ban in force refused the request before any rule ran
  std::vector<RuleAnswer> rules;  // one per check, same order
};

}  // namespace rl::limiter
