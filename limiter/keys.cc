#include "keys.h"

#include "identifiers.h"

namespace rl::limiter {

RuleKeys KeysFor(std::string_view rule, Scope scope, std::string_view user_id,
                 std::string_view action, std::string_view api_key) {
  std::string subject;
  if (scope == Scope::kGlobal) {
    subject = "rl:g:{global}";
  } else if (scope == Scope::kApiKey && !api_key.empty()) {
    subject = "rl:k:{";
    common::AppendKeyEscaped(subject, api_key);
    subject += "}";
  } else {
    subject = "rl:{";
    common::AppendKeyEscaped(subject, user_id);
    subject += "}";
  }
  std::string suffix = std::string(rule);
  if (scope == Scope::kUserAction) suffix += ":" + std::string(action);
  return {subject + ":s:" + suffix, subject + ":b:" + suffix, subject + ":x:" + suffix};
}

}  // namespace rl::limiter
