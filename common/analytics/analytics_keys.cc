#include "common/analytics/analytics_keys.h"

#include "common/base/identifiers.h"

namespace rl::analytics {

std::string UserKey(std::string_view user_id) {
  std::string key = "rla:u:{";
  common::AppendKeyEscaped(key, user_id);
  key += "}";
  return key;
}

std::string UserMinuteKey(std::string_view user_id, int64_t minute) {
  return UserKey(user_id) + ":m:" + std::to_string(minute);
}

std::string GlobalSecondKey(int64_t second) { return "rla:g:s:" + std::to_string(second); }

std::string OffsetsKey(std::string_view topic) { return "rla:offsets:" + std::string(topic); }

}  // namespace rl::analytics
