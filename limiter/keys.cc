#include "keys.h"

#include "identifiers.h"

namespace rl::limiter {

std::string BucketKey(std::string_view user_id, std::string_view action) {
  std::string key = "rl:{";
  key.reserve(8 + user_id.size() + action.size());
  common::AppendKeyEscaped(key, user_id);
  key += "}:";
  key += action;
  return key;
}

}  // namespace rl::limiter
