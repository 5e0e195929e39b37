#include "common/base/digest.h"

#include <openssl/sha.h>

#include <algorithm>

namespace rl::common {
namespace {

std::string Hex(const unsigned char* digest, size_t bytes, size_t hex_digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  for (size_t i = 0; i < bytes; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  out.resize(std::min(hex_digits, out.size()));
  return out;
}

}  // namespace

std::string Sha1Hex(std::string_view data, size_t hex_digits) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof(digest), hex_digits);
}

std::string Sha256Hex(std::string_view data, size_t hex_digits) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof(digest), hex_digits);
}

std::string ApiKeyLabel(std::string_view api_key) { return "key:" + Sha256Hex(api_key, 8); }

}  // namespace rl::common
