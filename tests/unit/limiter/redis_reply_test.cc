#include <gtest/gtest.h>

#include "redis_decision_store.h"

namespace rl::limiter {
namespace {

using common::RedisValue;

RedisValue Int(int64_t v) {
  RedisValue r;
  r.type = RedisValue::Type::kInteger;
  r.integer = v;
  return r;
}

TEST(ParseTokenBucketReply, ReadsTheScriptsArray) {
  RedisValue reply;
  reply.type = RedisValue::Type::kArray;
  reply.elements = {Int(0), Int(2), Int(3000), Int(250), Int(1700000000123)};
  auto a = ParseTokenBucketReply(reply);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->allowed);
  EXPECT_EQ(a->remaining, 2);
  EXPECT_EQ(a->reset_ms, 3000);
  EXPECT_EQ(a->retry_after_ms, 250);
  EXPECT_EQ(a->now_ms, 1700000000123);
}

TEST(ParseTokenBucketReply, TurnsErrorsAndOddShapesIntoStatuses) {
  RedisValue error;
  error.type = RedisValue::Type::kError;
  error.str = "OOM command not allowed";
  EXPECT_FALSE(ParseTokenBucketReply(error).ok());
  RedisValue short_array;
  short_array.type = RedisValue::Type::kArray;
  short_array.elements = {Int(1)};
  EXPECT_FALSE(ParseTokenBucketReply(short_array).ok());
  EXPECT_FALSE(ParseTokenBucketReply(RedisValue{}).ok());
}

}  // namespace
}  // namespace rl::limiter
