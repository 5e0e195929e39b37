#include "limiter/core/async_decision_service.h"

namespace rl::limiter {

struct AsyncDecisionService::Pending {
  std::vector<CheckRequest> requests;
  std::vector<DescriptorRequest> descriptors;
  std::optional<DecisionPlan> plan;  // refers to `requests` or `descriptors`, which stay put
  Done done;
};

AsyncDecisionService::AsyncDecisionService(DecisionCore& core, AsyncDecisionStore& store,
                                           DecisionEvents& events, const common::Clock& clock,
                                           const PolicyHolder& policies)
    : core_(core), store_(store), events_(events), clock_(clock), policies_(policies) {}

void AsyncDecisionService::Decide(RequestContext context,
                                  std::shared_ptr<const ActivePolicy> policy,
                                  std::vector<CheckRequest> requests, Done done) {
  auto pending = std::make_shared<Pending>();
  pending->requests = std::move(requests);
  pending->done = std::move(done);
  pending->plan.emplace(core_.Plan(std::move(context), std::move(policy), pending->requests));
  LookUpKeys(std::move(pending));
}

void AsyncDecisionService::DecideDescriptors(RequestContext context,
                                             std::shared_ptr<const ActivePolicy> policy,
                                             std::vector<DescriptorRequest> requests, Done done) {
  auto pending = std::make_shared<Pending>();
  pending->descriptors = std::move(requests);
  pending->done = std::move(done);
  pending->plan.emplace(
      core_.PlanDescriptors(std::move(context), std::move(policy), pending->descriptors));
  DecideRules(std::move(pending));
}

void AsyncDecisionService::LookUpKeys(std::shared_ptr<Pending> pending) {
  DecisionPlan& plan = *pending->plan;
  const auto& keys = plan.key_lookups();
  if (keys.empty()) return DecideRules(std::move(pending));
  if (plan.context().Expired(clock_)) {
    core_.ResolveKeys(plan, AsyncDecisionStore::Entries(keys.size(), PastDeadline()));
    return DecideRules(std::move(pending));
  }
  store_.LookupApiKeys(plan.policy()->policy.api_keys_redis_hash, keys,
                       plan.context().deadline_us,
                       [this, pending](AsyncDecisionStore::Entries entries) mutable {
                         core_.ResolveKeys(*pending->plan, entries);
                         DecideRules(std::move(pending));
                       });
}

void AsyncDecisionService::DecideRules(std::shared_ptr<Pending> pending) {
  const DecisionPlan& plan = *pending->plan;
  const auto& checks = plan.rule_checks();
  if (checks.empty()) return Finish(*pending, {});
  if (plan.context().Expired(clock_)) {
    return Finish(*pending, AsyncDecisionStore::Answers(checks.size(), PastDeadline()));
  }
  store_.DecideMany(checks, plan.context().deadline_us,
                    [this, pending](AsyncDecisionStore::Answers answers) {
                      Finish(*pending, answers);
                    });
}

void AsyncDecisionService::Finish(Pending& pending, const AsyncDecisionStore::Answers& answers) {
  Decisions decided = core_.Complete(std::move(*pending.plan), answers);
  pending.plan.reset();
  for (const DecisionEvent& event : decided.events) events_.Publish(event);
  Done done = std::move(pending.done);
  done(std::move(decided));
}

}  // namespace rl::limiter
