#include <gtest/gtest.h>

#include "limiter/store/redis_decision_store.h"

namespace rl::limiter {
namespace {

using common::RedisValue;

RedisValue Int(int64_t v) {
  RedisValue r;
  r.type = RedisValue::Type::kInteger;
  r.integer = v;
  return r;
}

TEST(ParsePolicyReply, ReadsNowTheBanFlagAndFiveNumbersPerRule) {
  RedisValue reply;
  reply.type = RedisValue::Type::kArray;
  reply.elements = {
      Int(1700000000123), Int(0),   Int(1),    Int(4), Int(3000), Int(0), Int(0), Int(0), Int(0),
      Int(9000),          Int(250), Int(60000)};
  auto a = ParsePolicyReply(reply, 2);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->now_ms, 1700000000123);
  EXPECT_FALSE(a->answer.refused_by_ban);
  ASSERT_EQ(a->answer.rules.size(), 2u);
  EXPECT_TRUE(a->answer.rules[0].allowed);
  EXPECT_EQ(a->answer.rules[0].remaining, 4);
  EXPECT_FALSE(a->answer.rules[1].allowed);
  EXPECT_EQ(a->answer.rules[1].retry_after_ms, 250);
  EXPECT_EQ(a->answer.rules[1].banned_ms, 60000);
}

TEST(ParsePolicyReply, TurnsErrorsAndOddShapesIntoStatuses) {
  RedisValue error;
  error.type = RedisValue::Type::kError;
  error.str = "OOM command not allowed";
  EXPECT_FALSE(ParsePolicyReply(error, 1).ok());
  RedisValue short_array;
  short_array.type = RedisValue::Type::kArray;
  short_array.elements = {Int(1), Int(0)};
  EXPECT_FALSE(ParsePolicyReply(short_array, 1).ok());
  EXPECT_FALSE(ParsePolicyReply(RedisValue{}, 1).ok());
}

}  // namespace
}  // namespace rl::limiter
