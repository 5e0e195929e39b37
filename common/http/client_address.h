#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace rl::common {

// An IPv4 or IPv6 address; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are taken as IPv4.
struct IpAddress {
  bool v4 = true;
  std::array<uint8_t, 16> bytes{};  // the first 4 for IPv4

  // Plain textual forms only ("203.0.113.7", "2001:db8::1"), without port or brackets.
  static Result<IpAddress> Parse(std::string_view text);
  // The canonical text (inet_ntop), so that one client never gets two spellings.
  std::string ToString() const;
};

// The proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES): addresses and CIDR ranges.
class TrustedProxies {
 public:
  TrustedProxies() = default;
  // "10.0.0.0/8, 127.0.0.1, ::1, fd00::/8"; empty trusts nobody.
  static Result<TrustedProxies> Parse(std::string_view list);

  bool Contains(const IpAddress& address) const;
  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    IpAddress base;
    int prefix_bits = 0;
  };
  std::vector<Range> ranges_;
};

// The address of the client behind a request. The peer itself unless it is a trusted proxy; then
// X-Forwarded-For (every such header, in order) is read from the right, skipping trusted proxies:
// the first address that is not one is the client. An entry that is not an address stops the walk
// at the trusted hop to its right, since only the client can have written it. So a client can
// never choose its address by sending the header itself.
std::string ClientAddress(std::string_view peer, const std::vector<std::string>& forwarded_for,
                          const TrustedProxies& trusted);

}  // namespace rl::common
