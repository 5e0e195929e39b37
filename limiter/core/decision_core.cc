#include "limiter/core/decision_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "limiter/core/api_key_resolver.h"
#include "limiter/core/keys.h"

namespace rl::limiter {

namespace {
constexpr char kStoreErrors[] = "rl_redis_errors_total";
constexpr char kStoreErrorsHelp[] = "Decisions Redis could not make, by kind";

// The configured quota and window of one rule, and its burst where that differs.
RuleSummary Summary(const RuleCheck& c) {
  const int64_t capacity = Capacity(c.params);
  return {c.rule, c.params.limit, (c.params.window_ms + 999) / 1000,
          capacity != c.params.limit ? capacity : 0, c.shadow};
}
}  // namespace

bool CheckResult::HasLimitState() const {
  return !policies.empty() && verdict != Verdict::kFailOpen && verdict != Verdict::kFailClosed;
}

DecisionCore::DecisionCore(const common::Clock& clock, common::MetricsRegistry& metrics,
                           ServiceOptions options, BlockedCache* blocked_cache)
    : clock_(clock),
      options_(std::move(options)),
      blocked_cache_(blocked_cache),
      store_unavailable_(
          metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "unavailable"}})),
      store_timeout_(metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "timeout"}})),
      store_error_(metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "error"}})),
      store_log_(clock),
      bad_key_log_(clock) {
  for (size_t v = 0; v < kVerdictCount; ++v) {
    const auto verdict = static_cast<Verdict>(v);
    if (!IsDecision(verdict)) continue;
    decisions_[v] = &metrics.AddCounter("rl_decisions_total", "Decisions by outcome",
                                        {{"outcome", std::string(VerdictName(verdict))}});
  }
}

RequestContext DecisionCore::NewContext(std::string request_id) const {
  RequestContext context{.request_id = std::move(request_id)};
  if (options_.request_deadline_ms > 0) {
    context.deadline_us = clock_.MonotonicUs() + options_.request_deadline_ms * 1000;
  }
  return context;
}

DecisionPlan DecisionCore::NewPlan(RequestContext context,
                                   std::shared_ptr<const ActivePolicy> policy, size_t n) const {
  DecisionPlan plan;
  plan.context_ = std::move(context);
  plan.policy_ = std::move(policy);
  plan.items_.resize(n);
  const int64_t now_ms = clock_.NowMs();
  for (DecisionPlan::Item& item : plan.items_) item.ts_ms = now_ms;
  return plan;
}

DecisionPlan DecisionCore::Plan(RequestContext context, std::shared_ptr<const ActivePolicy> policy,
                                const std::vector<CheckRequest>& requests) const {
  DecisionPlan plan = NewPlan(std::move(context), std::move(policy), requests.size());
  const Policy& p = plan.policy_->policy;
  for (size_t i = 0; i < requests.size(); ++i) {
    DecisionPlan::Item& item = plan.items_[i];
    const CheckRequest& request = requests[i];
    item.request = &request;
    if (!request.api_key.empty() && NeedsApiKeyLookup(p, request.api_key)) {
      item.lookup = static_cast<int>(plan.key_lookups_.size());
      plan.key_lookups_.push_back(request.api_key);
      continue;
    }
    const std::optional<ApiKey> key =
        request.api_key.empty() ? std::nullopt : ApiKeyFromPolicy(p, request.api_key);
    ResolveItem(Resolve(p, request, key ? &*key : nullptr), true, item);
  }
  if (plan.key_lookups_.empty()) CollectRuleChecks(plan);
  return plan;
}

DecisionPlan DecisionCore::PlanDescriptors(RequestContext context,
                                           std::shared_ptr<const ActivePolicy> policy,
                                           const std::vector<DescriptorRequest>& requests) const {
  DecisionPlan plan = NewPlan(std::move(context), std::move(policy), requests.size());
  const Policy& p = plan.policy_->policy;
  plan.descriptor_matches_ = MatchDescriptors(p, requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    DecisionPlan::Item& item = plan.items_[i];
    item.request = &requests[i].check;
    if (plan.descriptor_matches_[i].replaced) {  // another descriptor's limit replaces its own
      item.answered = true;
      item.decided = false;
      item.result.unlimited = true;
      item.result.rule = "replaced";
      continue;
    }
    ResolveItem(ResolveDescriptor(p, requests[i], plan.descriptor_matches_[i]), false, item);
  }
  CollectRuleChecks(plan);
  return plan;
}

void DecisionCore::ResolveKeys(
    DecisionPlan& plan, const std::vector<common::Result<std::optional<std::string>>>& entries) {
  if (plan.stage_ != DecisionPlan::Stage::kKeys || entries.size() != plan.key_lookups_.size()) {
    throw std::logic_error("DecisionCore::ResolveKeys: not the plan's key lookups");
  }
  const Policy& p = plan.policy_->policy;
  for (size_t i = 0; i < plan.items_.size(); ++i) {
    DecisionPlan::Item& item = plan.items_[i];
    if (item.lookup < 0) continue;
    const CheckRequest& request = *item.request;
    const auto& entry = entries[static_cast<size_t>(item.lookup)];
    if (!entry.ok()) {
      item.result = FailModeResult(entry.status(), plan.context_);
      item.answered = true;
      // The key's user is unknown; the key itself is a secret and never published.
      item.user_id = request.user_id.empty() ? ApiKeyLabel(request.api_key) : request.user_id;
      continue;
    }
    const std::optional<ApiKey> key = ApiKeyFromEntry(p, request.api_key, entry.value(), bad_key_log_);
    ResolveItem(Resolve(p, request, key ? &*key : nullptr), true, item);
  }
  CollectRuleChecks(plan);
}

void DecisionCore::ResolveItem(Resolution resolution, bool cost_errors,
                               DecisionPlan::Item& item) const {
  item.user_id = resolution.user_id;
  item.answered = true;
  CheckResult& result = item.result;
  switch (resolution.kind) {
    case Resolution::Kind::kUnknownApiKey:
      result.verdict = Verdict::kUnauthenticated;
      result.error_message = "unknown API key";
      return;
    case Resolution::Kind::kDenyListed:
      result.verdict = Verdict::kDenied;
      result.rule = "deny_list";
      return;
    case Resolution::Kind::kAllowListed:
      result.verdict = Verdict::kAllowlisted;
      result.unlimited = true;
      result.rule = "allow_list";
      return;
    case Resolution::Kind::kCheck:
      break;
  }
  // A descriptor's hits above its limit are a decision (over the limit), as the reference
  // answers them; a /check cost above a rule's capacity is a client error.
  if (auto too_costly =
          cost_errors ? CostError(item.request->cost, resolution.checks) : std::nullopt) {
    result.verdict = Verdict::kInvalid;  // could never be admitted: a client error
    result.error_message = *too_costly;
  } else if (resolution.checks.empty()) {
    result.verdict = Verdict::kAllowed;
    result.unlimited = true;
    result.rule = "none";
  } else if (blocked_cache_ == nullptr) {
    item.answered = false;
    item.checks = std::move(resolution.checks);
  } else {
    item.cache_signature = blocked_cache_->SignatureOf(resolution.checks);
    if (auto cached = blocked_cache_->Lookup(item.cache_signature)) {
      result = FromAnswer(resolution.checks, *cached);
      item.ts_ms = cached->now_ms;
      return;
    }
    item.answered = false;
    item.checks = std::move(resolution.checks);
    item.cache_ticket = blocked_cache_->Begin();
  }
}

void DecisionCore::CollectRuleChecks(DecisionPlan& plan) {
  for (DecisionPlan::Item& item : plan.items_) {
    if (item.answered) continue;
    item.store_index = static_cast<int>(plan.rule_checks_.size());
    plan.rule_checks_.push_back(std::move(item.checks));
  }
  plan.stage_ = DecisionPlan::Stage::kRules;
}

Decisions DecisionCore::Complete(DecisionPlan plan,
                                 const std::vector<common::Result<StoreAnswer>>& answers) {
  if (plan.stage_ != DecisionPlan::Stage::kRules || answers.size() != plan.rule_checks_.size()) {
    throw std::logic_error("DecisionCore::Complete: not the plan's rule checks");
  }
  plan.stage_ = DecisionPlan::Stage::kDone;
  Decisions out;
  out.results.reserve(plan.items_.size());
  for (size_t i = 0; i < plan.items_.size(); ++i) {
    DecisionPlan::Item& item = plan.items_[i];
    if (item.store_index >= 0) {
      const auto j = static_cast<size_t>(item.store_index);
      if (answers[j].ok()) {
        item.result = FromAnswer(plan.rule_checks_[j], answers[j].value());
        item.ts_ms = answers[j]->now_ms;
        if (blocked_cache_ != nullptr) {
          blocked_cache_->Remember(item.cache_signature, plan.rule_checks_[j], answers[j].value(),
                                   item.cache_ticket);
        }
      } else {
        item.result = FailModeResult(answers[j].status(), plan.context_);
      }
    }
    // Refused before any decision, or replaced: no event.
    if (item.decided && IsDecision(item.result.verdict)) {
      decisions_[static_cast<size_t>(item.result.verdict)]->Inc();
      out.events.push_back(
          EventOf(item.user_id, *item.request, item.result, item.ts_ms, plan.context_));
    }
    out.results.push_back(std::move(item.result));
  }
  out.policy = std::move(plan.policy_);
  out.descriptor_matches = std::move(plan.descriptor_matches_);
  return out;
}

CheckResult DecisionCore::FailModeResult(const common::Status& why,
                                         const RequestContext& context) {
  (why.code() == common::Status::Code::kTimeout       ? store_timeout_
   : why.code() == common::Status::Code::kUnavailable ? store_unavailable_
                                                      : store_error_)
      .Inc();
  CheckResult r;
  r.rule = "fail_mode";
  if (options_.fail_mode == FailMode::kOpen) {
    r.verdict = Verdict::kFailOpen;
  } else {
    r.verdict = Verdict::kFailClosed;
    r.retry_after_ms = options_.fail_closed_retry_after_ms;
  }
  uint64_t suppressed = 0;
  if (store_log_.ShouldLog(&suppressed)) {
    spdlog::warn(
        "redis: cannot decide request {} ({}); answering {} ({} similar answers not logged)",
        context.request_id.empty() ? "-" : context.request_id, why.message(),
        VerdictName(r.verdict), suppressed);
  }
  return r;
}

CheckResult DecisionCore::FromAnswer(const std::vector<RuleCheck>& checks,
                                     const StoreAnswer& answer) {
  CheckResult r;
  for (const RuleCheck& c : checks) r.policies.push_back(Summary(c));
  // Which rule speaks for the answer: a ban, else the enforced block that lasts longest, else a
  // shadow block, else the rule with the smallest share of its capacity left.
  int banned = -1, blocked = -1, shadow = -1, closest = -1, closest_enforced = -1;
  double closest_share = 2, closest_enforced_share = 2;
  // When the request would be admitted: once every enforced rule allows it and no ban holds
  // (each rule's time only shortens as time passes, so the latest of them).
  int64_t admitted_in_ms = 0;
  bool never_admitted = false;  // an enforced limit of 0: no retry will be admitted
  for (size_t i = 0; i < checks.size(); ++i) {
    const RuleAnswer& a = answer.answer.rules[i];
    const int idx = static_cast<int>(i);
    if (a.banned_ms > 0 && (banned < 0 || a.banned_ms > answer.answer.rules[banned].banned_ms)) {
      banned = idx;
    }
    if (!a.allowed && !checks[i].shadow &&
        (blocked < 0 || a.retry_after_ms > answer.answer.rules[blocked].retry_after_ms)) {
      blocked = idx;
    }
    if (!a.allowed && checks[i].shadow && shadow < 0) shadow = idx;
    if (!checks[i].shadow) {
      admitted_in_ms = std::max({admitted_in_ms, a.retry_after_ms, a.banned_ms});
      never_admitted = never_admitted || Capacity(checks[i].params) == 0 ||
                       checks[i].cost > Capacity(checks[i].params);
    }
    const double share = static_cast<double>(a.remaining) /
                         static_cast<double>(std::max<int64_t>(1, Capacity(checks[i].params)));
    if (share < closest_share) closest_share = share, closest = idx;
    if (!checks[i].shadow && share < closest_enforced_share) {
      closest_enforced_share = share, closest_enforced = idx;
    }
  }
  const bool ban_in_force = answer.answer.refused_by_ban;
  int speaker = ban_in_force ? banned : blocked >= 0 ? blocked : shadow >= 0 ? shadow : closest;
  const RuleAnswer& a = answer.answer.rules[speaker];
  r.rule = checks[speaker].rule;
  r.limit = r.policies[speaker].quota;
  r.window_s = r.policies[speaker].window_s;
  r.unit = checks[speaker].unit;
  r.remaining = a.remaining;
  r.reset_ms = std::max(a.reset_ms, a.banned_ms);  // a ban holds the limit until it ends
  r.retry_after_ms = never_admitted ? 0 : admitted_in_ms;
  // Client headers: enforced rules only, so no client backs off for a shadow rule.
  const int reported = ban_in_force ? banned : blocked >= 0 ? blocked : closest_enforced;
  if (reported >= 0) {
    const RuleAnswer& e = answer.answer.rules[reported];
    r.enforced = {checks[reported].rule, r.policies[reported].quota, ban_in_force ? 0 : e.remaining,
                  std::max(e.reset_ms, e.banned_ms)};
  }
  if (ban_in_force) {
    r.verdict = Verdict::kBanned;
    r.remaining = 0;
  } else if (blocked >= 0) {
    r.verdict = Verdict::kBlocked;
  } else {
    r.verdict = shadow >= 0 ? Verdict::kShadowBlocked : Verdict::kAllowed;
    r.retry_after_ms = 0;
  }
  return r;
}

std::optional<std::string> DecisionCore::CostError(int64_t cost,
                                                   const std::vector<RuleCheck>& checks) {
  for (const RuleCheck& c : checks) {
    // A limit of 0 refuses every request: a decision (blocked), not a client error.
    if (Capacity(c.params) > 0 && cost > Capacity(c.params)) {
      // The capacity is the burst where one is set: name which, not "the limit" for both.
      return "cost must be an integer from 1 to " + std::to_string(Capacity(c.params)) +
             " (the capacity of rule " + c.rule +
             (Capacity(c.params) != c.params.limit ? ": its burst)" : ": its limit)");
    }
  }
  return std::nullopt;
}

DecisionEvent DecisionCore::EventOf(const std::string& user_id, const CheckRequest& request,
                                    const CheckResult& result, int64_t ts_ms,
                                    const RequestContext& context) {
  DecisionEvent event;
  event.limiter_id = options_.limiter_id;
  event.sequence = sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  event.ts_ms = ts_ms;
  event.user_id = user_id;
  event.action = request.action;
  event.rule = result.rule;
  event.verdict = result.verdict;
  event.limit = result.limit;
  event.remaining = result.remaining;
  event.cost = request.cost;
  event.retry_after_ms = result.retry_after_ms;
  event.reset_ms = result.reset_ms;
  event.request_id = context.request_id;
  return event;
}

}  // namespace rl::limiter
