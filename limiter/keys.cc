#include "limiter/keys.h"

#include "common/base/digest.h"
#include "common/base/identifiers.h"

namespace rl::limiter {

RuleKeys KeysFor(std::string_view rule, std::string_view schema, Scope scope,
                 std::string_view user_id, std::string_view action, std::string_view api_key) {
  std::string subject;
  if (scope == Scope::kGlobal) {
    subject = "rl:g:{global}";
  } else if (scope == Scope::kApiKey && !api_key.empty()) {
    subject = "rl:k:{" + common::Sha256Hex(api_key, 32) + "}";
  } else {
    subject = "rl:{";
    common::AppendKeyEscaped(subject, user_id);
    subject += "}";
  }
  std::string suffix(rule);
  std::string state_suffix = suffix + "/" + std::string(schema);
  if (scope == Scope::kUserAction) {
    suffix += ":" + std::string(action);
    state_suffix += ":" + std::string(action);
  }
  return {subject + ":s:" + state_suffix, subject + ":b:" + suffix, subject + ":x:" + suffix};
}

std::string ApiKeyLabel(std::string_view api_key) { return "key:" + common::Sha256Hex(api_key, 8); }

}  // namespace rl::limiter
