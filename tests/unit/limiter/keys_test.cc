#include "keys.h"

#include <gtest/gtest.h>

#include <set>

namespace rl::limiter {
namespace {

TEST(BucketKey, HashTagsTheUserSoAUsersKeysShareASlot) {
  EXPECT_EQ(BucketKey("u1", "login"), "rl:{u1}:login");
}

TEST(BucketKey, EscapesBracesAndPercentInUserIds) {
  EXPECT_EQ(BucketKey("a}b", "x"), "rl:{a%7Db}:x");
  EXPECT_EQ(BucketKey("{", "x"), "rl:{%7B}:x");
  EXPECT_EQ(BucketKey("%7D", "x"), "rl:{%257D}:x");
}

TEST(BucketKey, IsInjectiveForTrickyIds) {
  // Pairs that a naive "rl:" + user + ":" + action would map to the same key.
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"a:b", "c"},   {"a", "b:c"}, {"a}", "x"},  {"a%7D", "x"}, {"a}:x", "y"},
      {"a", "}:x:y"}, {"", "a"},    {"{a}", "b"}, {"%", "a"},    {"%25", "a"}};
  std::set<std::string> keys;
  for (const auto& [user, action] : inputs) keys.insert(BucketKey(user, action));
  EXPECT_EQ(keys.size(), inputs.size());
}

}  // namespace
}  // namespace rl::limiter
