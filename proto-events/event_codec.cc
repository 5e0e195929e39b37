#include "proto-events/event_codec.h"

#include "common/base/outcomes.h"

namespace rl::events {

std::string_view OutcomeName(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_ALLOWED:
      return "allowed";
    case v1::OUTCOME_BLOCKED:
      return "blocked";
    case v1::OUTCOME_FAIL_OPEN:
      return "fail_open";
    case v1::OUTCOME_FAIL_CLOSED:
      return "fail_closed";
    case v1::OUTCOME_SHADOW_BLOCKED:
      return "shadow_blocked";
    case v1::OUTCOME_BANNED:
      return "banned";
    case v1::OUTCOME_DENIED:
      return "denied";
    case v1::OUTCOME_ALLOWLISTED:
      return "allowlisted";
    default:
      return "unspecified";
  }
}

std::string EncodeDecision(const v1::Decision& decision) { return decision.SerializeAsString(); }

std::optional<v1::Decision> DecodeDecision(std::string_view bytes) {
  v1::Decision decision;
  if (!decision.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  if (decision.user_id().empty()) return std::nullopt;
  return decision;
}

bool OutcomeAdmits(v1::Outcome outcome) { return common::OutcomeNameAdmits(OutcomeName(outcome)); }

}  // namespace rl::events
