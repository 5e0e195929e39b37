#include "decision_service.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "keys.h"

namespace rl::limiter {

using events::v1::Outcome;

int CheckResult::HttpStatus() const {
  switch (outcome) {
    case events::v1::OUTCOME_BLOCKED:
    case events::v1::OUTCOME_BANNED:
      return 429;
    case events::v1::OUTCOME_FAIL_CLOSED:
      return 503;
    default:
      return 200;
  }
}

bool CheckResult::HasLimitState() const {
  return outcome != events::v1::OUTCOME_FAIL_OPEN && outcome != events::v1::OUTCOME_FAIL_CLOSED;
}

namespace {
constexpr char kDecisions[] = "rl_decisions_total";
constexpr char kDecisionsHelp[] = "Answers to /check by outcome";
constexpr char kStoreErrors[] = "rl_redis_errors_total";
constexpr char kStoreErrorsHelp[] = "Decisions Redis could not make, by kind";

// Time for an empty bucket to refill fully, rounded up: the policy's window for headers.
int64_t WindowSeconds(const TokenBucketParams& p) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(p.capacity) / p.refill_per_sec));
}
}  // namespace

DecisionService::DecisionService(DecisionStore& store, EventPublisher& publisher,
                                 const common::Clock& clock, common::MetricsRegistry& metrics,
                                 DecisionPolicy policy)
    : store_(store),
      publisher_(publisher),
      clock_(clock),
      policy_(std::move(policy)),
      allowed_(metrics.AddCounter(kDecisions, kDecisionsHelp, {{"outcome", "allowed"}})),
      blocked_(metrics.AddCounter(kDecisions, kDecisionsHelp, {{"outcome", "blocked"}})),
      fail_open_(metrics.AddCounter(kDecisions, kDecisionsHelp, {{"outcome", "fail_open"}})),
      fail_closed_(metrics.AddCounter(kDecisions, kDecisionsHelp, {{"outcome", "fail_closed"}})),
      store_unavailable_(
          metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "unavailable"}})),
      store_timeout_(metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "timeout"}})),
      store_error_(metrics.AddCounter(kStoreErrors, kStoreErrorsHelp, {{"kind", "error"}})),
      store_log_(clock) {}

common::Counter& DecisionService::OutcomeCounter(Outcome outcome) {
  switch (outcome) {
    case events::v1::OUTCOME_ALLOWED:
      return allowed_;
    case events::v1::OUTCOME_BLOCKED:
      return blocked_;
    case events::v1::OUTCOME_FAIL_OPEN:
      return fail_open_;
    default:
      return fail_closed_;
  }
}

CheckResult DecisionService::FailModeResult() const {
  CheckResult r;
  r.rule = policy_.rule;
  r.limit = policy_.bucket.capacity;
  r.window_s = WindowSeconds(policy_.bucket);
  if (policy_.fail_mode == FailMode::kOpen) {
    r.outcome = events::v1::OUTCOME_FAIL_OPEN;
    r.allowed = true;
  } else {
    r.outcome = events::v1::OUTCOME_FAIL_CLOSED;
    r.allowed = false;
    r.retry_after_ms = policy_.fail_closed_retry_after_ms;
  }
  return r;
}

CheckResult DecisionService::Check(const CheckRequest& request) {
  BucketRequest bucket{BucketKey(request.user_id, request.action), policy_.bucket, request.cost};
  auto answer = store_.Consume(bucket);
  CheckResult result;
  int64_t ts_ms;
  if (answer.ok()) {
    result.outcome = answer->allowed ? events::v1::OUTCOME_ALLOWED : events::v1::OUTCOME_BLOCKED;
    result.allowed = answer->allowed;
    result.rule = policy_.rule;
    result.limit = policy_.bucket.capacity;
    result.remaining = answer->remaining;
    result.reset_ms = answer->reset_ms;
    result.retry_after_ms = answer->retry_after_ms;
    result.window_s = WindowSeconds(policy_.bucket);
    ts_ms = answer->now_ms;
  } else {
    const common::Status& s = answer.status();
    (s.code() == common::Status::Code::kTimeout       ? store_timeout_
     : s.code() == common::Status::Code::kUnavailable ? store_unavailable_
                                                      : store_error_)
        .Inc();
    result = FailModeResult();
    ts_ms = clock_.NowMs();
    uint64_t suppressed = 0;
    if (store_log_.ShouldLog(&suppressed)) {
      spdlog::warn("redis: cannot decide ({}); answering {} ({} similar answers not logged)",
                   s.message(), result.allowed ? "fail_open" : "fail_closed", suppressed);
    }
  }
  OutcomeCounter(result.outcome).Inc();
  Publish(request, result, ts_ms);
  return result;
}

void DecisionService::Publish(const CheckRequest& request, const CheckResult& result,
                              int64_t ts_ms) {
  events::v1::Decision event;
  uint64_t seq = sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  event.set_event_id(policy_.limiter_id + "-" + std::to_string(seq));
  event.set_ts_ms(ts_ms);
  event.set_user_id(request.user_id);
  event.set_action(request.action);
  event.set_rule(result.rule);
  event.set_outcome(result.outcome);
  event.set_limit(result.limit);
  event.set_remaining(result.remaining);
  event.set_cost(request.cost);
  event.set_limiter_id(policy_.limiter_id);
  event.set_allowed(result.allowed);
  event.set_retry_after_ms(result.retry_after_ms);
  event.set_reset_ms(result.reset_ms);
  publisher_.Publish(event);
}

}  // namespace rl::limiter
