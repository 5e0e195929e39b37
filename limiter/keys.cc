#include "keys.h"

namespace rl::limiter {

std::string BucketKey(std::string_view user_id, std::string_view action) {
  std::string key = "rl:{";
  key.reserve(8 + user_id.size() + action.size());
  for (char c : user_id) {
    switch (c) {
      case '%':
        key += "%25";
        break;
      case '{':
        key += "%7B";
        break;
      case '}':
        key += "%7D";
        break;
      default:
        key += c;
    }
  }
  key += "}:";
  key += action;
  return key;
}

}  // namespace rl::limiter
