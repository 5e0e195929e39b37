#pragma once
// Rules for the identifiers every service accepts, and their encoding inside Redis keys.

#include <cstddef>
#include <string>
#include <string_view>

namespace rl::common {

inline constexpr size_t kMaxUserIdBytes = 128;
inline constexpr size_t kMaxActionBytes = 64;
inline constexpr size_t kMaxApiKeyBytes = 256;

// 1..128 bytes of valid UTF-8 with no control characters (C0, DEL, C1).
bool IsValidUserId(std::string_view user_id);
// What IsValidUserId accepts, in words, for the errors of every service.
inline constexpr char kValidUserIdRule[] = "1..128 bytes of UTF-8 without control characters";
// [A-Za-z0-9_.:-]{1,64}
bool IsValidAction(std::string_view action);
// 1..256 printable ASCII characters (no space): what an API key may be, at the gateway and the
// limiter alike.
bool IsValidApiKey(std::string_view key);

// An HTTP header name (RFC 9110 token): 1..256 of A-Z a-z 0-9 and !#$%&'*+-.^_`|~.
bool IsHeaderName(std::string_view name);

// Appends `part` with '%', '{' and '}' percent-encoded, so that "{" + escaped + "}" is a Redis
// Cluster hash tag holding exactly this part, and distinct parts give distinct keys.
void AppendKeyEscaped(std::string& key, std::string_view part);

// A fresh id for one running instance of a service: "<hostname>-<8 random hex digits>".
std::string NewInstanceId();

}  // namespace rl::common
