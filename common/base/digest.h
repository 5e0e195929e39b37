#pragma once
// Hex digests, for names derived from content: script SHA-1s for EVALSHA, limits file hashes, and
// fingerprints of secrets (API keys) that must never appear themselves.

#include <string>
#include <string_view>

namespace rl::common {

// Lower-case hex SHA-1 of `data`, all 40 digits or the first `hex_digits`.
std::string Sha1Hex(std::string_view data, size_t hex_digits = 40);
// Lower-case hex SHA-256 of `data`, all 64 digits or the first `hex_digits`.
std::string Sha256Hex(std::string_view data, size_t hex_digits = 64);

// How an API key appears wherever a user id is shown (events, analytics, logs) when the key names
// no user: "key:" and the first 8 hex digits of its SHA-256. Not reversible; the key itself, a
// secret, never appears.
std::string ApiKeyLabel(std::string_view api_key);

}  // namespace rl::common
