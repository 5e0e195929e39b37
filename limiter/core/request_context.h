#pragma once
// What a front end tells the core of the request it hands over besides its checks: the request id
// and the deadline. Passed explicitly through Plan and Complete, never held by the thread, so a
// front end that interleaves many requests on one thread (an event loop) keeps each one's own.

#include <cstdint>
#include <string>

#include "common/base/clock.h"
#include "common/base/status.h"

namespace rl::limiter {

struct RequestContext {
  // X-Request-Id (common/base/request_id.h), "" if none: recorded in every event of the request
  // and named by the core's log lines about it.
  std::string request_id;
  // Clock::MonotonicUs() after which no store step starts for the request: what is left is
  // answered by the fail mode, as a timeout. 0: none.
  int64_t deadline_us = 0;

  bool Expired(const common::Clock& clock) const {
    return deadline_us != 0 && clock.MonotonicUs() >= deadline_us;
  }
};

// What a store step that was not started, the deadline having passed, answers: a timeout.
inline common::Status PastDeadline() {
  return common::Status::Timeout("the request's deadline passed before its store step");
}

}  // namespace rl::limiter
