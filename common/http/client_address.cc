#include "common/http/client_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/base/settings.h"

namespace rl::common {

namespace {

bool PrefixMatches(const IpAddress& a, const IpAddress& b, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

}  // namespace

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return Status::InvalidArgument("not an IP address");
  }
  const std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) {
    return Status::InvalidArgument("not an IP address: " + s);
  }
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(ip.bytes.data(), kMapped, sizeof(kMapped)) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::memset(ip.bytes.data() + 4, 0, 12);
    return ip;
  }
  ip.v4 = false;
  return ip;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
  return text;
}

Result<TrustedProxies> TrustedProxies::Parse(std::string_view list) {
  TrustedProxies out;
  if (Trim(list).empty()) return out;
  for (std::string_view entry : SplitList(list)) {
    const size_t slash = entry.find('/');
    auto base = IpAddress::Parse(entry.substr(0, slash));
    if (!base.ok()) {
      return Status::InvalidArgument("\"" + std::string(entry) +
                                     "\" is not an IP address or CIDR range");
    }
    Range range{base.value(), base->v4 ? 32 : 128};
    if (slash != std::string_view::npos) {
      const std::string bits(entry.substr(slash + 1));
      char* end = nullptr;
      const long parsed = std::strtol(bits.c_str(), &end, 10);
      if (bits.empty() || *end != '\0' || parsed < 0 || parsed > range.prefix_bits) {
        return Status::InvalidArgument("\"" + std::string(entry) +
                                       "\": the prefix length must be " + "0.." +
                                       std::to_string(range.prefix_bits));
      }
      range.prefix_bits = static_cast<int>(parsed);
    }
    out.ranges_.push_back(range);
  }
  return out;
}

bool TrustedProxies::Contains(const IpAddress& address) const {
  for (const Range& r : ranges_) {
    if (r.base.v4 == address.v4 && PrefixMatches(r.base, address, r.prefix_bits)) return true;
  }
  return false;
}

std::string ClientAddress(std::string_view peer, const std::vector<std::string>& forwarded_for,
                          const TrustedProxies& trusted) {
  auto hop = IpAddress::Parse(peer);
  if (!hop.ok()) return std::string(peer);  // not an IP socket: nothing to look behind
  if (trusted.empty() || !trusted.Contains(hop.value())) return hop->ToString();
  std::vector<std::string_view> chain;
  for (const std::string& header : forwarded_for) {
    for (std::string_view entry : SplitList(header)) chain.push_back(entry);
  }
  IpAddress client = hop.value();
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    auto next = IpAddress::Parse(*it);
    if (!next.ok()) break;
    client = next.value();
    if (!trusted.Contains(client)) break;
  }
  return client.ToString();
}

}  // namespace rl::common
