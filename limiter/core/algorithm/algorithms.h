#pragma once
// The limiting algorithms by name, and the numbers that configure them. The algorithms run in
// Redis (limiter/store/scripts/policy.lua); tests/support/algorithm_model.h models each one again in
// C++, step by step, for the tests.
//
// Every algorithm is configured by the same numbers: `limit` requests per `window_ms`, with a
// `burst` (the capacity of the bucket algorithms; the window algorithms ignore it).

#include <cstdint>
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
// Why `limit` is too high for `algorithm`, if it is (sliding_window_log keeps one entry per
// request it admitted in its window, so its limit is capped).
std::optional<std::string> LimitError(Algorithm algorithm, int64_t limit);
// Every algorithm's name, comma-separated, for the error that names what is accepted.
const std::string& AlgorithmNames();

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

// Names what an algorithm's stored state means: the algorithm, and the parameters the stored
// values depend on (a window algorithm's window length, GCRA's emission interval). Limits,
// bursts and the other rates leave tokens, levels, counts and logged times meaningful. State
// keys carry it, so a rule whose state changes meaning starts afresh instead of misreading.
// Never contains ':' or '/'.
std::string StateSchema(const LimitParams& p);

}  // namespace rl::limiter
