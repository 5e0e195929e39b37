#include "limiter/store/guarded_decision_store.h"

#include <spdlog/spdlog.h>

#include <optional>

namespace rl::limiter {

GuardedDecisionStore::GuardedDecisionStore(DecisionStore& inner, ApiKeyStore& keys,
                                           common::CircuitBreakerOptions options,
                                           const common::Clock& clock,
                                           common::MetricsRegistry& metrics)
    : inner_(inner),
      keys_(keys),
      breaker_(options, clock),
      opened_(metrics.AddCounter("rl_redis_circuit_opened_total",
                                 "Times the Redis circuit breaker opened")),
      short_circuited_(metrics.AddCounter(
          "rl_redis_circuit_rejected_total",
          "Decisions refused without calling Redis because the circuit was open")) {
  metrics.AddGaugeFn("rl_redis_circuit_state",
                     "Redis circuit breaker: 0 closed, 1 open, 2 half-open", {},
                     [this] { return static_cast<double>(breaker_.state()); });
}

template <typename T>
common::Result<T> GuardedDecisionStore::Guard(const std::function<common::Result<T>()>& call) {
  if (!breaker_.Allow()) {
    short_circuited_.Inc();
    return common::Status::Unavailable("redis circuit breaker is open");
  }
  common::Result<T> result = call();
  if (result.status().code() == common::Status::Code::kDataError) {
    // Redis answered: a data error (WRONGTYPE, a malformed reply) concerns this request only.
    breaker_.OnAnsweredWithDataError();
    return result;
  }
  if (result.ok()) {
    if (breaker_.state() != common::CircuitBreaker::State::kClosed) {
      spdlog::info("redis: circuit breaker closed: Redis answers again");
    }
    breaker_.OnSuccess();
  } else if (breaker_.OnFailure()) {
    opened_.Inc();
    spdlog::warn("redis: circuit breaker opened after repeated failures ({})",
                 result.status().message());
  }
  return result;
}

common::Result<StoreAnswer> GuardedDecisionStore::Decide(const std::vector<RuleCheck>& checks) {
  return Guard<StoreAnswer>([&] { return inner_.Decide(checks); });
}

// A pipelined round trip counts as one call for the breaker: failed as a whole when any answer
// says unreachable or timeout; refused whole while the breaker is open.
template <typename T>
std::vector<common::Result<T>> GuardedDecisionStore::GuardMany(
    size_t n, const std::function<std::vector<common::Result<T>>()>& call) {
  std::vector<common::Result<T>> answers;
  auto outcome = Guard<bool>([&]() -> common::Result<bool> {
    answers = call();
    std::optional<common::Status> data_error;  // Redis answered, but not for this request
    for (const auto& a : answers) {
      const auto code = a.status().code();
      if (code == common::Status::Code::kUnavailable || code == common::Status::Code::kTimeout) {
        return a.status();
      }
      if (code == common::Status::Code::kDataError && !data_error) data_error = a.status();
    }
    if (data_error) return *data_error;
    return true;
  });
  if (!outcome.ok() && answers.empty()) {  // refused by the open breaker: nothing was called
    answers.assign(n, common::Result<T>(outcome.status()));
  }
  return answers;
}

std::vector<common::Result<StoreAnswer>> GuardedDecisionStore::DecideMany(
    const std::vector<std::vector<RuleCheck>>& requests) {
  return GuardMany<StoreAnswer>(requests.size(), [&] { return inner_.DecideMany(requests); });
}

std::vector<common::Result<std::optional<std::string>>> GuardedDecisionStore::LookupApiKeys(
    const std::string& hash, const std::vector<std::string>& api_keys) {
  return GuardMany<std::optional<std::string>>(
      api_keys.size(), [&] { return keys_.LookupApiKeys(hash, api_keys); });
}

}  // namespace rl::limiter
