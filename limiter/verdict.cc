#include "limiter/verdict.h"

#include "common/base/outcomes.h"
#include "proto-events/event_codec.h"

namespace rl::limiter {

using events::v1::Outcome;

std::string_view VerdictName(Verdict v) {
  if (v == Verdict::kInvalid) return "invalid";
  if (v == Verdict::kUnauthenticated) return "unauthenticated";
  return events::OutcomeName(EventOutcome(v));  // a decision: named as its event outcome
}

bool Admits(Verdict v) { return common::OutcomeNameAdmits(VerdictName(v)); }

bool IsDecision(Verdict v) { return EventOutcome(v) != events::v1::OUTCOME_UNSPECIFIED; }

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

}  // namespace rl::limiter
