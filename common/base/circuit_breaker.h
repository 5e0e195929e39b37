#pragma once

#include <cstdint>
#include <mutex>

#include "common/base/clock.h"

namespace rl::common {

struct CircuitBreakerOptions {
  int failure_threshold = 5;  // REDIS_BREAKER_FAILURES: consecutive failures that open it
  int open_ms = 1000;         // REDIS_BREAKER_OPEN_MS: how long it stays open before a probe
};

// Stops calling a dependency that keeps failing, and probes it to recover:
//   closed    -> calls go through; `failure_threshold` failures in a row open it
//   open      -> calls are refused at once, for open_ms
//   half-open -> one call (the probe) goes through: success closes, failure re-opens
// Thread-safe.
class CircuitBreaker {
 public:
  enum class State { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  CircuitBreaker(CircuitBreakerOptions options, const Clock& clock)
      : options_(options), clock_(clock) {}

  // True if the caller may call the dependency now; then it must report OnSuccess/OnFailure.
  bool Allow();
  void OnSuccess();
  // Returns true if this failure opened the breaker.
  bool OnFailure();
  // The dependency answered, but the answer was an error of the data, not of the dependency
  // (a key of the wrong type, a malformed value): no failure is counted and the consecutive
  // failures so far stay counted; a probe so answered closes the breaker.
  void OnAnsweredWithDataError();
  State state() const;

 private:
  const CircuitBreakerOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t open_until_us_ = 0;
  bool probe_in_flight_ = false;
};

}  // namespace rl::common
