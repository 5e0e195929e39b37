#pragma once
// The decision core run without waiting, as an event loop runs it: the same phases as
// DecisionService (Plan, the API-key lookups, the rule checks, Complete, the events), the store
// asked through AsyncDecisionStore, the answer handed to a callback.

#include <functional>
#include <memory>
#include <vector>

#include "common/base/clock.h"
#include "limiter/core/check_request.h"
#include "limiter/core/decision_core.h"
#include "limiter/core/decision_event.h"
#include "limiter/core/decision_runner.h"
#include "limiter/core/decision_store.h"
#include "limiter/core/policy_holder.h"
#include "limiter/core/request_context.h"

namespace rl::limiter {

// One per event loop, on `core` shared with every other runner of the process (one event
// sequence, one set of counters). `done` is called exactly once, on the loop's thread: at once
// when the policy alone answers, else when the store has. A store step the request's deadline has
// passed before is not started: its part gets the fail mode, as a timeout. Not thread-safe.
class AsyncDecisionService final : public DecisionRunner {
 public:
  AsyncDecisionService(DecisionCore& core, AsyncDecisionStore& store, DecisionEvents& events,
                       const common::Clock& clock, const PolicyHolder& policies);

  RequestContext NewContext(std::string request_id) const override {
    return core_.NewContext(std::move(request_id));
  }
  // Decide under the active policy.
  void Submit(RequestContext context, std::vector<CheckRequest> requests, Done done) override {
    Decide(std::move(context), policies_.Current(), std::move(requests), std::move(done));
  }
  void SubmitDescriptors(RequestContext context, std::vector<DescriptorRequest> requests,
                         Done done) override {
    DecideDescriptors(std::move(context), policies_.Current(), std::move(requests),
                      std::move(done));
  }

  // As DecisionService::Decide, under `policy` (one snapshot for the batch).
  void Decide(RequestContext context, std::shared_ptr<const ActivePolicy> policy,
              std::vector<CheckRequest> requests, Done done);
  // As DecisionService::DecideDescriptors.
  void DecideDescriptors(RequestContext context, std::shared_ptr<const ActivePolicy> policy,
                         std::vector<DescriptorRequest> requests, Done done);

 private:
  // A decision between its phases: the requests its plan refers to, the plan, who waits.
  struct Pending;
  void LookUpKeys(std::shared_ptr<Pending> pending);
  void DecideRules(std::shared_ptr<Pending> pending);
  void Finish(Pending& pending, const AsyncDecisionStore::Answers& answers);

  DecisionCore& core_;
  AsyncDecisionStore& store_;
  DecisionEvents& events_;
  const common::Clock& clock_;
  const PolicyHolder& policies_;
};

}  // namespace rl::limiter
