#include "common/redis/redis_breaker.h"

#include <spdlog/spdlog.h>

namespace rl::common {

RedisBreakerMetrics RegisterRedisBreakerMetrics(MetricsRegistry& metrics) {
  return {&metrics.AddCounter("rl_redis_circuit_opened_total",
                              "Times a Redis circuit breaker opened (one per server: a "
                              "standalone Redis, or each primary of a cluster)"),
          &metrics.AddCounter("rl_redis_circuit_rejected_total",
                              "Calls refused without calling Redis because a circuit was open")};
}

RedisBreaker::RedisBreaker(CircuitBreakerOptions options, const Clock& clock,
                           RedisBreakerMetrics metrics, std::string server)
    : breaker_(options, clock), metrics_(metrics), server_(std::move(server)) {}

Status RedisBreaker::Admit() {
  if (breaker_.Allow()) return Status::Ok();
  if (metrics_.rejected) metrics_.rejected->Inc();
  return Status::Unavailable("redis " + server_ + ": circuit breaker open");
}

void RedisBreaker::Report(const Status& status, bool error_reply) {
  if (!status.ok()) {
    if (breaker_.OnFailure()) {
      if (metrics_.opened) metrics_.opened->Inc();
      spdlog::warn("redis {}: circuit breaker opened after repeated failures ({})", server_,
                   status.message());
    }
    return;
  }
  const bool was_closed = breaker_.state() == CircuitBreaker::State::kClosed;
  if (error_reply) {
    breaker_.OnAnsweredWithDataError();
  } else {
    breaker_.OnSuccess();
  }
  // Only a breaker that was not closed can have closed now: the usual call locks no more.
  if (!was_closed && breaker_.state() == CircuitBreaker::State::kClosed) {
    spdlog::info("redis {}: circuit breaker closed: Redis answers again", server_);
  }
}

}  // namespace rl::common
