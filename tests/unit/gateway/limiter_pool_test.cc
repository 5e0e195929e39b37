// The gateway resolves each limiter URL's host to every address it has (a scaled docker compose
// service resolves to one address per replica).
#include "gateway/limiter_pool.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace rl::gateway {
namespace {

TEST(ResolveAll, AnAddressResolvesToItself) {
  EXPECT_EQ(ResolveAll("127.0.0.1"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(ResolveAll("::1"), std::vector<std::string>{"::1"});
}

TEST(ResolveAll, ANameGivesEveryAddressOnceSorted) {
  const auto addresses = ResolveAll("localhost");  // /etc/hosts: 127.0.0.1 and often ::1
  ASSERT_FALSE(addresses.empty());
  EXPECT_NE(std::find(addresses.begin(), addresses.end(), "127.0.0.1"), addresses.end());
  EXPECT_TRUE(std::is_sorted(addresses.begin(), addresses.end()));
  EXPECT_EQ(std::adjacent_find(addresses.begin(), addresses.end()), addresses.end());
}

TEST(ResolveAll, NothingResolvesToNothing) { EXPECT_TRUE(ResolveAll("").empty()); }

}  // namespace
}  // namespace rl::gateway
