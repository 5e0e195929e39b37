#pragma once

#include <string>
#include <string_view>

namespace rl::limiter {

// Which requests share one counter of a rule.
enum class Scope { kUser, kUserAction, kApiKey, kGlobal };

// The Redis keys of one rule for one request:
//   rl:{<user>}:s:<rule>[:<action>]    user and user_action scopes (action only for user_action)
//   rl:k:{<api key>}:s:<rule>          api_key scope (a request without a key: the user's key)
//   rl:g:{global}:s:<rule>             global scope
// with ":b:" instead of ":s:" for the ban key and ":x:" for the strike counter. Users and API keys
// are escaped (common::AppendKeyEscaped), rule names have no ':', and the action comes last, so
// distinct (scope, rule, subject, action) always give distinct keys. The hash tag keeps one
// subject's keys in one Redis Cluster slot.
struct RuleKeys {
  std::string state;
  std::string ban;
  std::string strikes;
};
RuleKeys KeysFor(std::string_view rule, Scope scope, std::string_view user_id,
                 std::string_view action, std::string_view api_key);

}  // namespace rl::limiter
