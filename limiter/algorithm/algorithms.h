#pragma once
// Reference models of every limiting algorithm: pure functions of (state, now, parameters, cost).
// limiter/scripts/policy.lua implements each one again, step by step in the same order, so that
// both give the same answers; tests/support/algorithm_cases.h holds the tables both must pass.
//
// Every algorithm is configured by the same numbers: `limit` requests per `window_ms`, with a
// `burst` (the capacity of the bucket algorithms; the window algorithms ignore it).

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace rl::limiter {

enum class Algorithm {
  kTokenBucket,           // tokens refill continuously at limit/window up to burst
  kGcra,                  // generic cell rate algorithm: the token bucket as one timestamp
  kSlidingWindowLog,      // exact: at most limit requests in any window_ms
  kSlidingWindowCounter,  // previous window weighted by its overlap, plus the current one
  kFixedWindow,           // at most limit requests per aligned window
  kLeakyBucket,           // a meter: the level drains at limit/window; admitted while it fits burst
};

std::string_view AlgorithmName(Algorithm a);
std::optional<Algorithm> ParseAlgorithm(std::string_view name);

struct LimitParams {
  Algorithm algorithm = Algorithm::kTokenBucket;
  int64_t limit = 10;         // requests per window (>= 1)
  int64_t window_ms = 1000;   // (>= 1)
  int64_t burst = 10;         // bucket capacity (>= 1); the window algorithms ignore it
  double refill_per_sec = 0;  // bucket algorithms: overrides limit/window when > 0

  // Refill (or drain) rate of the bucket algorithms, in tokens per microsecond.
  double RatePerUs() const {
    return refill_per_sec > 0
               ? refill_per_sec / 1e6
               : static_cast<double>(limit) / (static_cast<double>(window_ms) * 1000.0);
  }
};

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

// Names what an algorithm's stored state means: the algorithm, and the parameters the stored
// values depend on (a window algorithm's window length, GCRA's emission interval). Limits,
// bursts and the other rates leave tokens, levels, counts and logged times meaningful. State
// keys carry it, so a rule whose state changes meaning starts afresh instead of misreading.
// Never contains ':' or '/'.
std::string StateSchema(const LimitParams& p);

}  // namespace rl::limiter
