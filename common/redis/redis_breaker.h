#pragma once
// The circuit breaker of one Redis server: the one type of breaker for every Redis destination,
// a standalone server (a cluster of one) or each primary of a Redis Cluster (RedisPoolOptions).

#include <string>

#include "common/base/circuit_breaker.h"
#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/base/status.h"

namespace rl::common {

// The counters every breaker of a process shares.
struct RedisBreakerMetrics {
  Counter* opened = nullptr;    // a breaker opened
  Counter* rejected = nullptr;  // calls refused without calling Redis
};
// rl_redis_circuit_opened_total and rl_redis_circuit_rejected_total, registered once.
RedisBreakerMetrics RegisterRedisBreakerMetrics(MetricsRegistry& metrics);

// After `failure_threshold` failed calls in a row (unreachable, timed out) calls are refused at
// once for `open_ms` (the caller answers by its fail mode without waiting for a timeout), then one
// call probes the server. An error reply (WRONGTYPE, MOVED, ...) means the server answered: it
// neither counts as a failure nor clears the failures so far, and a probe so answered closes the
// breaker. Logs each opening and closing. Thread-safe.
class RedisBreaker {
 public:
  RedisBreaker(CircuitBreakerOptions options, const Clock& clock, RedisBreakerMetrics metrics,
               std::string server);

  // Ok if a call may go to the server now (then Report must follow), else the status to answer
  // it with.
  Status Admit();
  // How an admitted call ended: its status (a failure: the server did not answer) and, if it
  // was answered, whether with an error reply.
  void Report(const Status& status, bool error_reply);
  CircuitBreaker::State state() const { return breaker_.state(); }

 private:
  CircuitBreaker breaker_;
  const RedisBreakerMetrics metrics_;
  const std::string server_;
};

}  // namespace rl::common
