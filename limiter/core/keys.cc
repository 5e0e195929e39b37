#include "limiter/core/keys.h"

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

namespace {

// '%', '{', '}', '|' and '=' percent-encoded, nothing else: distinct descriptors give distinct
// keys, and the whole stays one hash tag.
void AppendDescriptorPart(std::string& key, std::string_view part) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : part) {
    if (c == '%' || c == '{' || c == '}' || c == '|' || c == '=') {
      key += '%';
      key += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      key += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      key += c;
    }
  }
}

}  // namespace

RuleKeys DescriptorKeysFor(std::string_view domain,
                           const std::vector<std::pair<std::string, std::string>>& descriptor,
                           std::string_view rule, std::string_view schema) {
  std::string subject = "rl:d:{";
  AppendDescriptorPart(subject, domain);
  for (const auto& [key, value] : descriptor) {
    subject += '|';
    AppendDescriptorPart(subject, key);
    subject += '=';
    AppendDescriptorPart(subject, value);
  }
  subject += "}";
  const std::string suffix(rule);
  return {subject + ":s:" + suffix + "/" + std::string(schema), subject + ":b:" + suffix,
          subject + ":x:" + suffix};
}

std::string ApiKeyLabel(std::string_view api_key) { return common::ApiKeyLabel(api_key); }

}  // namespace rl::limiter
