#pragma once

#include "common/base/circuit_breaker.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "limiter/core/decision_store.h"

namespace rl::limiter {

// A DecisionStore that stops calling a failing store: after REDIS_BREAKER_FAILURES failed
// decisions in a row it refuses at once (the caller applies its fail mode without waiting for a
// timeout), and every REDIS_BREAKER_OPEN_MS lets one probe through to find out whether the store
// is back. A data error (Status kDataError, such as WRONGTYPE) means Redis answered: it neither
// opens the breaker nor hides failures around it. Decisions and API-key lookups go through it;
// health checks and admin calls (AdminStore) go to the store directly. Thread-safe.
class GuardedDecisionStore final : public DecisionStore, public ApiKeyStore {
 public:
  GuardedDecisionStore(DecisionStore& inner, ApiKeyStore& keys, common::CircuitBreakerOptions options,
                       const common::Clock& clock, common::MetricsRegistry& metrics);

  common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) override;
  // The batch counts as one call for the breaker: refused whole while it is open.
  std::vector<common::Result<StoreAnswer>> DecideMany(
      const std::vector<std::vector<RuleCheck>>& requests) override;
  // The lookups of one batch count as one call too.
  std::vector<common::Result<std::optional<std::string>>> LookupApiKeys(
      const std::string& hash, const std::vector<std::string>& api_keys) override;

 private:
  template <typename T>
  common::Result<T> Guard(const std::function<common::Result<T>()>& call);
  template <typename T>
  std::vector<common::Result<T>> GuardMany(
      size_t n, const std::function<std::vector<common::Result<T>>()>& call);

  DecisionStore& inner_;
  ApiKeyStore& keys_;
  common::CircuitBreaker breaker_;
  common::Counter& opened_;
  common::Counter& short_circuited_;
};

}  // namespace rl::limiter
