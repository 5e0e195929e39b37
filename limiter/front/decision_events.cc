#include "limiter/front/decision_events.h"

namespace rl::limiter {

using events::v1::Outcome;

Outcome EventOutcome(Verdict v) {
  switch (v) {
    case Verdict::kAllowed:
      return events::v1::OUTCOME_ALLOWED;
    case Verdict::kShadowBlocked:
      return events::v1::OUTCOME_SHADOW_BLOCKED;
    case Verdict::kAllowlisted:
      return events::v1::OUTCOME_ALLOWLISTED;
    case Verdict::kFailOpen:
      return events::v1::OUTCOME_FAIL_OPEN;
    case Verdict::kBlocked:
      return events::v1::OUTCOME_BLOCKED;
    case Verdict::kBanned:
      return events::v1::OUTCOME_BANNED;
    case Verdict::kDenied:
      return events::v1::OUTCOME_DENIED;
    case Verdict::kFailClosed:
      return events::v1::OUTCOME_FAIL_CLOSED;
    case Verdict::kInvalid:
    case Verdict::kUnauthenticated:
      return events::v1::OUTCOME_UNSPECIFIED;
  }
  return events::v1::OUTCOME_UNSPECIFIED;
}

events::v1::Decision ToDecisionProto(const DecisionEvent& e) {
  events::v1::Decision event;
  event.set_event_id(e.limiter_id + "-" + std::to_string(e.sequence));
  event.set_sequence(e.sequence);
  event.set_ts_ms(e.ts_ms);
  event.set_user_id(e.user_id);
  event.set_action(e.action);
  event.set_rule(e.rule);
  event.set_outcome(EventOutcome(e.verdict));
  event.set_limit(e.limit);
  event.set_remaining(e.remaining);
  event.set_cost(e.cost);
  event.set_limiter_id(e.limiter_id);
  event.set_allowed(Admits(e.verdict));
  event.set_retry_after_ms(e.retry_after_ms);
  event.set_reset_ms(e.reset_ms);
  event.set_request_id(e.request_id);
  return event;
}

}  // namespace rl::limiter
