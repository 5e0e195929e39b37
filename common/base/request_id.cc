#include "common/base/request_id.h"

#include <random>

namespace rl::common {

namespace {
thread_local std::string current_request_id;
}  // namespace

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = random();
    for (int i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = kHex[bits & 0xf];
  }
  return id;
}

std::string RequestIdOr(std::string_view offered) {
  return IsValidRequestId(offered) ? std::string(offered) : NewRequestId();
}

const std::string& CurrentRequestId() { return current_request_id; }

RequestIdScope::RequestIdScope(const std::string& id) : previous_(current_request_id) {
  current_request_id = id;
}

RequestIdScope::~RequestIdScope() { current_request_id = previous_; }

}  // namespace rl::common
