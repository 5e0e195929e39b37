#include "common/http/client_address.h"

#include <gtest/gtest.h>

namespace rl::common {
namespace {

TrustedProxies Trust(const std::string& list) {
  auto parsed = TrustedProxies::Parse(list);
  EXPECT_TRUE(parsed.ok()) << list << ": " << parsed.status().message();
  return parsed.ok() ? parsed.value() : TrustedProxies();
}

bool Contains(const TrustedProxies& trusted, const std::string& address) {
  auto ip = IpAddress::Parse(address);
  EXPECT_TRUE(ip.ok()) << address;
  return ip.ok() && trusted.Contains(ip.value());
}

TEST(IpAddress, ParsesBothFamiliesAndPrintsOneCanonicalSpelling) {
  EXPECT_EQ(IpAddress::Parse("203.0.113.7")->ToString(), "203.0.113.7");
  EXPECT_EQ(IpAddress::Parse("2001:DB8:0:0::1")->ToString(), "2001:db8::1");
  EXPECT_EQ(IpAddress::Parse("::ffff:10.1.2.3")->ToString(), "10.1.2.3");  // IPv4-mapped
  EXPECT_TRUE(IpAddress::Parse("::ffff:10.1.2.3")->v4);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:80", "[::1]", "unknown",
                          " 1.2.3.4", "1.2.3.4/8", "::1%eth0"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).ok()) << bad;
  }
}

TEST(TrustedProxies, MatchesAddressesAndCidrRangesOfEitherFamily) {
  TrustedProxies trusted = Trust(" 10.0.0.0/8, 127.0.0.1 ,fd00::/8, ::1, 192.168.1.128/25");
  EXPECT_TRUE(Contains(trusted, "10.255.0.1"));
  EXPECT_FALSE(Contains(trusted, "11.0.0.1"));
  EXPECT_TRUE(Contains(trusted, "127.0.0.1"));
  EXPECT_FALSE(Contains(trusted, "127.0.0.2"));
  EXPECT_TRUE(Contains(trusted, "::ffff:127.0.0.1"));
  EXPECT_TRUE(Contains(trusted, "fd12::3"));
  EXPECT_FALSE(Contains(trusted, "fe80::1"));
  EXPECT_TRUE(Contains(trusted, "::1"));
  EXPECT_TRUE(Contains(trusted, "192.168.1.200"));
  EXPECT_FALSE(Contains(trusted, "192.168.1.127"));
  EXPECT_TRUE(Contains(Trust("0.0.0.0/0"), "8.8.8.8"));
  EXPECT_FALSE(Contains(Trust("0.0.0.0/0"), "::1"));  // families never match each other
  EXPECT_TRUE(Trust("").empty());
  EXPECT_TRUE(Trust("  ").empty());
}

TEST(TrustedProxies, RejectsWhatIsNotAnAddressOrRange) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                          "proxy.local", "10.0.0.1,", ",10.0.0.1", "10.0.0.1,,::1"}) {
    EXPECT_FALSE(TrustedProxies::Parse(bad).ok()) << bad;
  }
}

TEST(ClientAddress, IgnoresXForwardedForUnlessThePeerIsTrusted) {
  const std::vector<std::string> spoofed = {"1.1.1.1"};
  EXPECT_EQ(ClientAddress("192.0.2.10", spoofed, TrustedProxies()), "192.0.2.10");
  EXPECT_EQ(ClientAddress("192.0.2.10", spoofed, Trust("10.0.0.0/8")), "192.0.2.10");
  EXPECT_EQ(ClientAddress("::ffff:192.0.2.10", {}, TrustedProxies()), "192.0.2.10");
}

TEST(ClientAddress, WalksFromTheRightPastTrustedProxiesOnly) {
  TrustedProxies trusted = Trust("10.0.0.0/8");
  // The client wrote "1.1.1.1" itself; the first proxy appended the address it saw.
  EXPECT_EQ(ClientAddress("10.0.0.2", {"1.1.1.1, 203.0.113.7, 10.0.0.1"}, trusted), "203.0.113.7");
  // Several headers are one list, in order.
  EXPECT_EQ(ClientAddress("10.0.0.2", {"1.1.1.1", "203.0.113.7", "10.0.0.1"}, trusted),
            "203.0.113.7");
  // Nothing forwarded: the proxy itself is the client.
  EXPECT_EQ(ClientAddress("10.0.0.2", {}, trusted), "10.0.0.2");
  EXPECT_EQ(ClientAddress("10.0.0.2", {""}, trusted), "10.0.0.2");
  // Only proxies: the leftmost one.
  EXPECT_EQ(ClientAddress("10.0.0.2", {"10.9.9.9,10.0.0.1"}, trusted), "10.9.9.9");
  // Garbage stops the walk at the trusted hop to its right.
  EXPECT_EQ(ClientAddress("10.0.0.2", {"203.0.113.7, evil, 10.0.0.1"}, trusted), "10.0.0.1");
  // Spellings of one address are one client.
  EXPECT_EQ(ClientAddress("10.0.0.2", {"2001:DB8::0:1"}, trusted), "2001:db8::1");
}

}  // namespace
}  // namespace rl::common
