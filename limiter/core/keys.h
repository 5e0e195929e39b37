#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rl::limiter {

// Which requests share one counter of a rule.
enum class Scope { kUser, kUserAction, kApiKey, kGlobal };

// The Redis keys of one rule for one request:
//   rl:{<user>}:s:<rule>/<schema>[:<action>]    user and user_action scopes (action only for
//                                               user_action)
//   rl:k:{<key fingerprint>}:s:<rule>/<schema>  api_key scope (a request without a key: the
//                                               user's key)
//   rl:g:{global}:s:<rule>/<schema>             global scope
// with ":b:<rule>" instead of ":s:<rule>/<schema>" for the ban key and ":x:<rule>" for the strike
// counter. <schema> is StateSchema() of the rule's limit, so a rule whose stored state changes
// meaning (another algorithm, window or GCRA rate) starts on fresh keys; bans and strikes survive
// such a change. API keys are secrets: their keys hold the first 32 hex digits of the key's
// SHA-256, never the key. Users are escaped (common::AppendKeyEscaped), rule names have no ':' or
// '/', schemas no ':', and the action comes last, so distinct (scope, rule, schema, subject,
// action) always give distinct keys. The hash tag keeps one subject's keys in one Redis Cluster
// slot.
struct RuleKeys {
  std::string state;
  std::string ban;
  std::string strikes;
};
RuleKeys KeysFor(std::string_view rule, std::string_view schema, Scope scope,
                 std::string_view user_id, std::string_view action, std::string_view api_key);

// The keys of a descriptor limit of Envoy's rate limit service: one counter per distinct request
// descriptor (every entry's key and value, as the reference service counts), under one hash tag:
//   rl:d:{<domain>|<key>=<value>|...}:s:<rule>/<schema>
// with domain, keys and values escaped (common::AppendKeyEscaped, and '|', '=' too).
RuleKeys DescriptorKeysFor(std::string_view domain,
                           const std::vector<std::pair<std::string, std::string>>& descriptor,
                           std::string_view rule, std::string_view schema);

// common::ApiKeyLabel (the gateway labels keys the same way).
std::string ApiKeyLabel(std::string_view api_key);

}  // namespace rl::limiter
