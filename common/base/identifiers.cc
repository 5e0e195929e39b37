#include "common/base/identifiers.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>

namespace rl::common {
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

bool IsValidApiKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxApiKeyBytes) return false;
  for (char c : key) {
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return true;
}

bool IsHeaderName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
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

void AppendKeyEscaped(std::string& key, std::string_view part) {
  for (char c : part) {
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
}

std::string NewInstanceId() {
  char host[64] = "instance";
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "%08x", rd());
  return std::string(host) + "-" + suffix;
}

}  // namespace rl::common
