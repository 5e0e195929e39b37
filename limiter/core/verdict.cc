#include "limiter/core/verdict.h"

#include "common/base/outcomes.h"

namespace rl::limiter {

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAllowed:
      return "allowed";
    case Verdict::kShadowBlocked:
      return "shadow_blocked";
    case Verdict::kAllowlisted:
      return "allowlisted";
    case Verdict::kFailOpen:
      return "fail_open";
    case Verdict::kBlocked:
      return "blocked";
    case Verdict::kBanned:
      return "banned";
    case Verdict::kDenied:
      return "denied";
    case Verdict::kFailClosed:
      return "fail_closed";
    case Verdict::kInvalid:
      return "invalid";
    case Verdict::kUnauthenticated:
      return "unauthenticated";
  }
  return "invalid";
}

bool Admits(Verdict v) { return common::OutcomeNameAdmits(VerdictName(v)); }

bool IsDecision(Verdict v) { return v != Verdict::kInvalid && v != Verdict::kUnauthenticated; }

}  // namespace rl::limiter
