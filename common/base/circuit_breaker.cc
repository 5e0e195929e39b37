#include "common/base/circuit_breaker.h"

namespace rl::common {

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (clock_.MonotonicUs() < open_until_us_) return false;
      state_ = State::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return true;
}

void CircuitBreaker::OnSuccess() {
  std::lock_guard lock(mu_);
  state_ = State::kClosed;
  failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::OnAnsweredWithDataError() {
  std::lock_guard lock(mu_);
  if (state_ == State::kHalfOpen && probe_in_flight_) {
    state_ = State::kClosed;
    failures_ = 0;
  }
  probe_in_flight_ = false;
}

bool CircuitBreaker::OnFailure() {
  std::lock_guard lock(mu_);
  probe_in_flight_ = false;
  ++failures_;
  if (state_ == State::kHalfOpen ||
      (state_ == State::kClosed && failures_ >= options_.failure_threshold)) {
    const bool opened = state_ == State::kClosed;
    state_ = State::kOpen;
    open_until_us_ = clock_.MonotonicUs() + static_cast<int64_t>(options_.open_ms) * 1000;
    return opened;
  }
  return false;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

}  // namespace rl::common
