#include "decision_service.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "event_codec.h"

namespace rl::limiter {

using events::v1::Outcome;

namespace {
constexpr char kStoreErrors[] = "rl_redis_errors_total";
// Events need a user: this one stands for requests whose API key could not be looked up.
constexpr char kUnresolvedApiKeyUser[] = "api_key:unresolved";
constexpr char kStoreErrorsHelp[] = "Decisions Redis could not make, by kind";

// What a client may take at most, and over which window, under one rule.
RuleSummary Summary(const RuleCheck& c) {
  return {c.rule, Capacity(c.params), (c.params.window_ms + 999) / 1000};
}
}  // namespace

bool CheckResult::HasLimitState() const {
  return !policies.empty() && outcome != events::v1::OUTCOME_FAIL_OPEN &&
         outcome != events::v1::OUTCOME_FAIL_CLOSED;
}

DecisionService::DecisionService(DecisionStore& store, EventPublisher& publisher,
                                 const common::Clock& clock, common::MetricsRegistry& metrics,
                                 const PolicyHolder& policies, ServiceOptions options)
    : store_(store),
      publisher_(publisher),
      clock_(clock),
      policies_(policies),
      options_(std::move(options)),
      store_unavailable_(
          metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "unavailable"}})),
      store_timeout_(metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "timeout"}})),
      store_error_(metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "error"}})),
      store_log_(clock) {
  for (int o = 1; o < static_cast<int>(outcomes_.size()); ++o) {
    outcomes_[o] = &metrics.AddCounter(
        "rl_decisions_total", "Answers to /check by outcome",
        {{"outcome", std::string(events::OutcomeName(static_cast<Outcome>(o)))}});
  }
}

CheckResult DecisionService::FailModeResult(const common::Status& why) {
  (why.code() == common::Status::Code::kTimeout       ? store_timeout_
   : why.code() == common::Status::Code::kUnavailable ? store_unavailable_
                                                      : store_error_)
      .Inc();
  CheckResult r;
  r.rule = "fail_mode";
  if (options_.fail_mode == FailMode::kOpen) {
    r.outcome = events::v1::OUTCOME_FAIL_OPEN;
    r.allowed = true;
    r.http_status = 200;
  } else {
    r.outcome = events::v1::OUTCOME_FAIL_CLOSED;
    r.http_status = 503;
    r.retry_after_ms = options_.fail_closed_retry_after_ms;
  }
  uint64_t suppressed = 0;
  if (store_log_.ShouldLog(&suppressed)) {
    spdlog::warn("redis: cannot decide ({}); answering {} ({} similar answers not logged)",
                 why.message(), r.allowed ? "fail_open" : "fail_closed", suppressed);
  }
  return r;
}

CheckResult DecisionService::FromAnswer(const Policy& policy, const std::vector<RuleCheck>& checks,
                                        const StoreAnswer& answer) const {
  CheckResult r;
  for (const RuleCheck& c : checks) r.policies.push_back(Summary(c));
  // Which rule speaks for the answer: a ban, else the enforced block that lasts longest, else a
  // shadow block, else the rule with the smallest share left.
  int banned = -1, blocked = -1, shadow = -1, closest = -1;
  double closest_share = 2;
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
    const double share = static_cast<double>(a.remaining) /
                         static_cast<double>(std::max<int64_t>(1, r.policies[i].quota));
    if (share < closest_share) closest_share = share, closest = idx;
  }
  const bool ban_in_force = answer.answer.refused_by_ban;
  int speaker = ban_in_force ? banned : blocked >= 0 ? blocked : shadow >= 0 ? shadow : closest;
  const RuleAnswer& a = answer.answer.rules[speaker];
  r.rule = checks[speaker].rule;
  r.limit = r.policies[speaker].quota;
  r.window_s = r.policies[speaker].window_s;
  r.remaining = a.remaining;
  r.reset_ms = a.reset_ms;
  r.retry_after_ms = std::max(a.retry_after_ms, a.banned_ms);  // Retry-After: the end of a ban
  if (ban_in_force) {
    r.outcome = events::v1::OUTCOME_BANNED;
    r.http_status = policy.ban_status;
  } else if (blocked >= 0) {
    r.outcome = events::v1::OUTCOME_BLOCKED;
    r.http_status = 429;
  } else {
    r.outcome = shadow >= 0 ? events::v1::OUTCOME_SHADOW_BLOCKED : events::v1::OUTCOME_ALLOWED;
    r.allowed = true;
    r.retry_after_ms = 0;
  }
  return r;
}

CheckResult DecisionService::Check(const CheckRequest& request) {
  auto active = policies_.Current();
  const Policy& policy = active->policy;

  std::optional<ApiKey> key;
  if (!request.api_key.empty()) {
    if (auto it = policy.api_keys.find(request.api_key); it != policy.api_keys.end()) {
      key = it->second;
    } else if (!policy.api_keys_redis_hash.empty()) {
      auto entry = store_.LookupApiKey(policy.api_keys_redis_hash, request.api_key);
      if (!entry.ok()) {
        CheckResult r = FailModeResult(entry.status());
        outcomes_[r.outcome]->Inc();
        // The key's user is unknown; never publish the key itself (a secret).
        Publish(request.user_id.empty() ? kUnresolvedApiKeyUser : request.user_id, request, r,
                clock_.NowMs());
        return r;
      }
      if (entry.value()) {  // "<tier>:<user>"
        const std::string& v = *entry.value();
        size_t colon = v.find(':');
        if (colon != std::string::npos && policy.tiers.count(v.substr(0, colon))) {
          key = ApiKey{v.substr(colon + 1), v.substr(0, colon)};
        } else {
          spdlog::warn("policy: API key entry in {} is not \"<tier>:<user>\" with a known tier",
                       policy.api_keys_redis_hash);
        }
      }
    }
  }

  Resolution resolution = Resolve(policy, request, key ? &*key : nullptr);
  CheckResult result;
  int64_t ts_ms = clock_.NowMs();
  switch (resolution.kind) {
    case Resolution::Kind::kUnknownApiKey:
      result.http_status = 401;
      result.error_code = "unauthenticated";
      result.error_message = "unknown API key";
      return result;  // not a decision: no event
    case Resolution::Kind::kDenyListed:
      result.outcome = events::v1::OUTCOME_DENIED;
      result.http_status = 403;
      result.rule = "deny_list";
      break;
    case Resolution::Kind::kAllowListed:
      result.outcome = events::v1::OUTCOME_ALLOWLISTED;
      result.allowed = true;
      result.rule = "allow_list";
      break;
    case Resolution::Kind::kCheck:
      for (const RuleCheck& c : resolution.checks) {
        if (request.cost > Capacity(c.params)) {  // could never be admitted: a client error
          result.http_status = 400;
          result.error_code = "invalid_argument";
          result.error_message = "cost must be an integer from 1 to " +
                                 std::to_string(Capacity(c.params)) + " (the limit of rule " +
                                 c.rule + ")";
          return result;
        }
      }
      if (resolution.checks.empty()) {
        result.outcome = events::v1::OUTCOME_ALLOWED;
        result.allowed = true;
        result.rule = "none";
        break;
      }
      if (auto answer = store_.Decide(resolution.checks); answer.ok()) {
        result = FromAnswer(policy, resolution.checks, answer.value());
        ts_ms = answer->now_ms;
      } else {
        result = FailModeResult(answer.status());
      }
      break;
  }
  outcomes_[result.outcome]->Inc();
  Publish(resolution.user_id, request, result, ts_ms);
  return result;
}

void DecisionService::Publish(const std::string& user_id, const CheckRequest& request,
                              const CheckResult& result, int64_t ts_ms) {
  events::v1::Decision event;
  uint64_t seq = sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  event.set_event_id(options_.limiter_id + "-" + std::to_string(seq));
  event.set_ts_ms(ts_ms);
  event.set_user_id(user_id);
  event.set_action(request.action);
  event.set_rule(result.rule);
  event.set_outcome(result.outcome);
  event.set_limit(result.limit);
  event.set_remaining(result.remaining);
  event.set_cost(request.cost);
  event.set_limiter_id(options_.limiter_id);
  event.set_allowed(result.allowed);
  event.set_retry_after_ms(result.retry_after_ms);
  event.set_reset_ms(result.reset_ms);
  publisher_.Publish(event);
}

}  // namespace rl::limiter
