#include "limiter/core/decision_service.h"

namespace rl::limiter {

DecisionService::DecisionService(DecisionStore& store, ApiKeyStore& api_keys,
                                 DecisionEvents& events, const common::Clock& clock,
                                 common::MetricsRegistry& metrics, const PolicyHolder& policies,
                                 ServiceOptions options, BlockedCache* blocked_cache)
    : clock_(clock),
      store_(store),
      api_keys_(api_keys),
      events_(events),
      policies_(policies),
      core_(clock, metrics, std::move(options), blocked_cache) {}

Decisions DecisionService::Decide(const RequestContext& context,
                                  std::shared_ptr<const ActivePolicy> policy,
                                  const std::vector<CheckRequest>& requests) {
  return Run(core_.Plan(context, std::move(policy), requests));
}

Decisions DecisionService::DecideDescriptors(const RequestContext& context,
                                             std::shared_ptr<const ActivePolicy> policy,
                                             const std::vector<DescriptorRequest>& requests) {
  return Run(core_.PlanDescriptors(context, std::move(policy), requests));
}

Decisions DecisionService::Run(DecisionPlan plan) {
  if (const auto& keys = plan.key_lookups(); !keys.empty()) {
    core_.ResolveKeys(plan, plan.context().Expired(clock_)
                                ? std::vector<common::Result<std::optional<std::string>>>(
                                      keys.size(), PastDeadline())
                                : api_keys_.LookupApiKeys(
                                      plan.policy()->policy.api_keys_redis_hash, keys));
  }
  const auto& checks = plan.rule_checks();
  std::vector<common::Result<StoreAnswer>> answers;
  if (plan.context().Expired(clock_)) {
    answers.assign(checks.size(), PastDeadline());
  } else if (checks.size() == 1) {
    answers.push_back(store_.Decide(checks.front()));
  } else if (!checks.empty()) {
    answers = store_.DecideMany(checks);
  }
  Decisions decided = core_.Complete(std::move(plan), answers);
  for (const DecisionEvent& event : decided.events) events_.Publish(event);
  return decided;
}

CheckResult DecisionService::Check(const CheckRequest& request) {
  return std::move(Decide(NewContext(""), {request}).results.front());
}

std::vector<CheckResult> DecisionService::CheckBatch(const std::vector<CheckRequest>& requests) {
  return std::move(Decide(NewContext(""), requests).results);
}

}  // namespace rl::limiter
