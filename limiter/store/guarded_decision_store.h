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
// opens the breaker nor hides failures around it. Health checks and
// admin calls always go through. Thread-safe.
class GuardedDecisionStore final : public DecisionStore {
 public:
  GuardedDecisionStore(DecisionStore& inner, common::CircuitBreakerOptions options,
                       const common::Clock& clock, common::MetricsRegistry& metrics);

  common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) override;
  // The batch counts as one call for the breaker: refused whole while it is open.
  std::vector<common::Result<StoreAnswer>> DecideMany(
      const std::vector<std::vector<RuleCheck>>& requests) override;
  common::Status Ping(int64_t* latency_us) override { return inner_.Ping(latency_us); }
  common::Result<std::optional<std::string>> LookupApiKey(const std::string& hash,
                                                          const std::string& api_key) override;
  common::Result<KeyState> Inspect(const std::string& key) override { return inner_.Inspect(key); }
  common::Result<int64_t> Delete(const std::vector<std::string>& keys) override {
    return inner_.Delete(keys);
  }

 private:
  template <typename T>
  common::Result<T> Guard(const std::function<common::Result<T>()>& call);

  DecisionStore& inner_;
  common::CircuitBreaker breaker_;
  common::Counter& opened_;
  common::Counter& short_circuited_;
};

}  // namespace rl::limiter
