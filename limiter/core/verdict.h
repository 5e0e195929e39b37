#pragma once
// What the decision core answers, before any protocol: front ends (HTTP /check, /check/batch,
// /json and gRPC ShouldRateLimit) map a verdict to their own status codes; the event publisher
// (limiter/front/decision_events.h) to the event contract.

#include <cstddef>
#include <string_view>

namespace rl::limiter {

enum class Verdict {
  kAllowed,          // admitted and charged
  kShadowBlocked,    // a shadow rule would have blocked; admitted
  kAllowlisted,      // on the allow list; admitted without rules
  kFailOpen,         // the store could not decide and FAIL_MODE=open admits
  kBlocked,          // a rule refused; nothing charged
  kBanned,           // a penalty ban refused
  kDenied,           // on the deny list
  kFailClosed,       // the store could not decide and FAIL_MODE=closed refuses
  kInvalid,          // can never be admitted (a cost above a rule's capacity): not a decision
  kUnauthenticated,  // an unknown API key: not a decision
};
inline constexpr size_t kVerdictCount = static_cast<size_t>(Verdict::kUnauthenticated) + 1;

// The name clients and metrics see: "allowed", "shadow_blocked", ..., "invalid",
// "unauthenticated". A decision's name is its event outcome's name (a test holds the two equal).
std::string_view VerdictName(Verdict v);

// True for the verdicts that admit the request.
bool Admits(Verdict v);

// True for the verdicts that are decisions: each is published as one event and counted in
// rl_decisions_total. kInvalid and kUnauthenticated refuse the request before any decision.
bool IsDecision(Verdict v);

}  // namespace rl::limiter
