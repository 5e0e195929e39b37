#pragma once

#include <memory>
#include <vector>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "limiter/core/check_request.h"
#include "limiter/core/decision_core.h"
#include "limiter/core/decision_event.h"
#include "limiter/core/decision_runner.h"
#include "limiter/core/decision_store.h"
#include "limiter/core/policy_holder.h"

namespace rl::limiter {

// The decision core (with the blocked cache, if given) run synchronously: Plan, the API-key
// lookups in one store round trip, the rule checks in another, Complete, and the events handed to
// `events`. A store step the request's deadline has passed before is not started: its part is
// answered by the fail mode, as a timeout. Thread-safe.
class DecisionService final : public DecisionRunner {
 public:
  DecisionService(DecisionStore& store, ApiKeyStore& api_keys, DecisionEvents& events,
                  const common::Clock& clock, common::MetricsRegistry& metrics,
                  const PolicyHolder& policies, ServiceOptions options,
                  BlockedCache* blocked_cache = nullptr);

  // Decides several requests under `policy` (one snapshot for the whole batch, which the answer
  // carries), the store's part in one round trip (DecisionStore::DecideMany); each request
  // all-or-nothing on its own, one result each, in order.
  Decisions Decide(const RequestContext& context, std::shared_ptr<const ActivePolicy> policy,
                   const std::vector<CheckRequest>& requests);
  // The same under the active policy.
  Decisions Decide(const RequestContext& context, const std::vector<CheckRequest>& requests) {
    return Decide(context, policies_.Current(), requests);
  }
  // Decides the descriptors of one Envoy rate limit request under `policy`
  // (DecisionCore::PlanDescriptors), the store's part in one round trip.
  Decisions DecideDescriptors(const RequestContext& context,
                              std::shared_ptr<const ActivePolicy> policy,
                              const std::vector<DescriptorRequest>& requests);
  // The results alone, for a request without an id (tools, tests).
  CheckResult Check(const CheckRequest& request);
  std::vector<CheckResult> CheckBatch(const std::vector<CheckRequest>& requests);

  // A context for a request arriving now (DecisionCore::NewContext).
  RequestContext NewContext(std::string request_id) const override {
    return core_.NewContext(std::move(request_id));
  }
  // Decide under the active policy; `done` is called before Submit returns.
  void Submit(RequestContext context, std::vector<CheckRequest> requests, Done done) override {
    done(Decide(context, requests));
  }
  void SubmitDescriptors(RequestContext context, std::vector<DescriptorRequest> requests,
                         Done done) override {
    done(DecideDescriptors(context, policies_.Current(), requests));
  }

  std::shared_ptr<const ActivePolicy> policy() const { return policies_.Current(); }

  // The core it runs, for other runners of the same process (AsyncDecisionService): one event
  // sequence and one set of counters for all.
  DecisionCore& core() { return core_; }

  // The highest event sequence handed out: how many events this instance has decided.
  uint64_t events_decided() const { return core_.events_decided(); }

 private:
  // The store work of `plan` (key lookups, then rule checks), Complete, and the events published.
  Decisions Run(DecisionPlan plan);

  const common::Clock& clock_;
  DecisionStore& store_;
  ApiKeyStore& api_keys_;
  DecisionEvents& events_;
  const PolicyHolder& policies_;
  DecisionCore core_;
};

}  // namespace rl::limiter
