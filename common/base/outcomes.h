#pragma once
// Which decision outcomes admit the request: the one definition that the limiter (its verdicts),
// the workers (analytics' allowed and blocked), the gateway (the live series) and the events
// share. By name, so that it needs no protobuf: "allowed", "shadow_blocked", "allowlisted" and
// "fail_open" admit; "blocked", "banned", "denied", "fail_closed" and any other name do not.

#include <string_view>

namespace rl::common {

constexpr bool OutcomeNameAdmits(std::string_view outcome) {
  return outcome == "allowed" || outcome == "shadow_blocked" || outcome == "allowlisted" ||
         outcome == "fail_open";
}

}  // namespace rl::common
