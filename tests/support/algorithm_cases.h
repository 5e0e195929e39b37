#pragma once
// One table of requests per algorithm, with the answers expected. The unit tests run every table
// against the C++ reference models (limiter/core/algorithm), the integration tests against
// limiter/store/scripts/policy.lua in a real Redis, with the same clock values; both must match the
// table and each other. `remaining` and `retry_after_ms` are allowed 1 off, because they are
// rounded from floating-point arithmetic that a table written by hand cannot predict to the
// last bit; `allowed` must match exactly (no step sits on a boundary).

#include <cstdint>
#include <string>
#include <vector>

#include "limiter/core/algorithm/algorithms.h"

namespace rl::testing {

struct AlgorithmStep {
  int64_t at_ms;  // since the start of a window
  int64_t cost;
  bool allowed;
  int64_t remaining;
  int64_t retry_after_ms;
};

struct AlgorithmCase {
  std::string name;
  limiter::LimitParams params;
  std::vector<AlgorithmStep> steps;
};

// A start time (µs) aligned to every window used below.
inline constexpr int64_t kCaseStartUs = 1'700'000'000'000'000;

inline std::vector<AlgorithmCase> AlgorithmCases() {
  using limiter::Algorithm;
  return {
      {"token_bucket",
       {Algorithm::kTokenBucket, 2, 1000, 2},
       {{0, 1, true, 1, 0},
        {0, 1, true, 0, 0},
        {0, 1, false, 0, 500},
        {249, 1, false, 0, 251},
        {501, 1, true, 0, 0},
        {3000, 2, true, 0, 0},
        {3100, 1, false, 0, 400}}},
      {"gcra",
       {Algorithm::kGcra, 2, 1000, 2},
       {{0, 1, true, 1, 0},
        {0, 1, true, 0, 0},
        {0, 1, false, 0, 500},
        {600, 1, true, 0, 0},
        {3000, 1, true, 1, 0}}},
      {"fixed_window",
       {Algorithm::kFixedWindow, 3, 1000, 3},
       {{0, 1, true, 2, 0},
        {100, 2, true, 0, 0},
        {200, 1, false, 0, 800},
        {999, 1, false, 0, 1},
        {1000, 1, true, 2, 0},
        {1500, 3, false, 2, 500},
        {1500, 2, true, 0, 0}}},
      {"sliding_window_log",
       {Algorithm::kSlidingWindowLog, 3, 1000, 3},
       {{0, 1, true, 2, 0},
        {300, 1, true, 1, 0},
        {600, 1, true, 0, 0},
        {700, 1, false, 0, 300},
        {1000, 1, true, 0, 0},
        {1100, 2, false, 0, 500},
        {1650, 2, true, 0, 0}}},
      {"sliding_window_counter",
       {Algorithm::kSlidingWindowCounter, 10, 1000, 10},
       {{0, 5, true, 5, 0},
        {500, 5, true, 0, 0},
        {600, 1, false, 0, 500},  // 10 in this window still weigh 9/10 at 1,100 ms
        {1250, 1, true, 1, 0},
        {1250, 2, false, 1, 50},
        {1400, 2, true, 1, 0}}},
      {"leaky_bucket",
       {Algorithm::kLeakyBucket, 2, 1000, 2},
       {{0, 1, true, 1, 0},
        {0, 1, true, 0, 0},
        {0, 1, false, 0, 500},
        {600, 1, true, 0, 0},
        {600, 1, false, 0, 400}}},
  };
}

}  // namespace rl::testing
