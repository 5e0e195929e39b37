#pragma once
// Reference models of limiter/store/scripts/policy.lua, for tests only: every algorithm as a pure
// function of (state, now, parameters, cost), step by step in the script's order and arithmetic,
// and a multi-rule decision over them (every rule evaluated; a ban in force refuses; else all
// rules charged or none). tests/support/algorithm_cases.h holds the tables both must pass, and
// the integration tests check that the script and these models agree on random traffic.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "limiter/core/algorithm/algorithms.h"
#include "limiter/core/algorithm/rule_check.h"

namespace rl::limiter {

// What one key remembers; each algorithm uses its own fields.
struct AlgorithmState {
  double level = 0;         // token bucket: tokens; leaky bucket: level; GCRA: TAT (µs)
  int64_t updated_us = 0;   // token and leaky bucket: last update
  int64_t window = 0;       // fixed / sliding counter: index of the current window
  int64_t count = 0;        // fixed / sliding counter: requests in the current window
  int64_t previous = 0;     // sliding counter: requests in the previous window
  std::deque<int64_t> log;  // sliding log: one timestamp (µs) per admitted unit of cost
};

struct AlgorithmDecision {
  bool allowed = false;
  AlgorithmState state;        // to store if the request is admitted (and charged)
  int64_t remaining = 0;       // what a request could still take now, after this one
  int64_t reset_ms = 0;        // until the limit is fully available again
  int64_t retry_after_ms = 0;  // until this request would be admitted; 0 when allowed
};

// Decides one request of `cost` at `now_us`. `prior` is nullopt for a key never seen (or expired).
// The returned state is the state after charging; a caller that does not charge (another rule
// blocked, shadow mode) keeps `prior`. A blocked answer's retry_after_ms is the earliest whole
// millisecond at which the same request on `prior` is admitted, checked with this very
// arithmetic, so the promise holds whatever the rounding.
AlgorithmDecision Decide(const std::optional<AlgorithmState>& prior, int64_t now_us,
                         const LimitParams& p, int64_t cost);

// Everything a model keeps between decisions: algorithm states, bans and strikes by key.
struct ModelStore {
  std::map<std::string, AlgorithmState> states;
  std::map<std::string, int64_t> ban_until_us;
  std::map<std::string, std::pair<int64_t, int64_t>> strikes;  // count, expiry (µs)
};

// Decides `checks` at `now_us` against `store`, updating it. Pure apart from `store`.
RulesAnswer DecideRules(ModelStore& store, int64_t now_us, const std::vector<RuleCheck>& checks);

}  // namespace rl::limiter
