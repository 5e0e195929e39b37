#include "check_request.h"

#include <nlohmann/json.hpp>

namespace rl::limiter {

using common::Result;
using common::Status;
using nlohmann::json;

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not well-formed (overlong forms,
// surrogates and code points above U+10FFFF are rejected). *cp gets the code point.
size_t Utf8Sequence(std::string_view s, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  size_t len;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, *cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, *cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, *cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (byte(i + k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

bool IsValidUserId(std::string_view user_id) {
  if (user_id.empty() || user_id.size() > kMaxUserIdBytes) return false;
  for (size_t i = 0; i < user_id.size();) {
    uint32_t cp = 0;
    size_t len = Utf8Sequence(user_id, i, &cp);
    if (len == 0) return false;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return false;
    i += len;
  }
  return true;
}

bool IsValidAction(std::string_view action) {
  if (action.empty() || action.size() > kMaxActionBytes) return false;
  for (char c : action) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<CheckRequest> ParseCheckRequest(std::string_view body, int64_t max_cost) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("body must be a JSON object");

  CheckRequest request;
  auto user = doc.find("user_id");
  if (user == doc.end()) return Status::InvalidArgument("user_id is required");
  if (!user->is_string()) return Status::InvalidArgument("user_id must be a string");
  request.user_id = user->get_ref<const std::string&>();
  if (!IsValidUserId(request.user_id)) {
    return Status::InvalidArgument(
        "user_id must be 1..128 bytes of UTF-8 without control characters");
  }

  if (auto action = doc.find("action"); action != doc.end()) {
    if (!action->is_string()) return Status::InvalidArgument("action must be a string");
    request.action = action->get_ref<const std::string&>();
    if (!IsValidAction(request.action)) {
      return Status::InvalidArgument("action must match [A-Za-z0-9_.:-]{1,64}");
    }
  }

  if (auto cost = doc.find("cost"); cost != doc.end()) {
    const std::string range = "cost must be an integer from 1 to " + std::to_string(max_cost);
    if (cost->is_number_unsigned()) {
      uint64_t v = cost->get<uint64_t>();
      if (v < 1 || v > static_cast<uint64_t>(max_cost)) return Status::InvalidArgument(range);
      request.cost = static_cast<int64_t>(v);
    } else if (cost->is_number_integer()) {
      int64_t v = cost->get<int64_t>();
      if (v < 1 || v > max_cost) return Status::InvalidArgument(range);
      request.cost = v;
    } else {
      return Status::InvalidArgument(range);
    }
  }

  if (auto key = doc.find("api_key"); key != doc.end()) {
    if (!key->is_string()) return Status::InvalidArgument("api_key must be a string");
    request.api_key = key->get_ref<const std::string&>();
    if (request.api_key.size() > kMaxApiKeyBytes) {
      return Status::InvalidArgument("api_key must be at most 256 bytes");
    }
  }
  return request;
}

}  // namespace rl::limiter
