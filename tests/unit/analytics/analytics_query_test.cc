#include "analytics_query.h"

#include <gtest/gtest.h>

namespace rl::analytics {
namespace {

using common::RedisValue;

RedisValue Str(const std::string& s) {
  RedisValue v;
  v.type = RedisValue::Type::kString;
  v.str = s;
  return v;
}
RedisValue Int(int64_t n) {
  RedisValue v;
  v.type = RedisValue::Type::kInteger;
  v.integer = n;
  return v;
}
RedisValue Array(std::vector<RedisValue> elements) {
  RedisValue v;
  v.type = RedisValue::Type::kArray;
  v.elements = std::move(elements);
  return v;
}

TEST(UserAnalyticsJson, BuildsTheDocumentedShape) {
  RedisValue reply =
      Array({Array({Str("total"), Str("3"), Str("allowed"), Str("2"), Str("blocked"), Str("1"),
                    Str("o:allowed"), Str("2"), Str("o:blocked"), Str("1"),
                    Str("a:api.v2:x:allowed"), Str("2"), Str("a:api.v2:x:blocked"), Str("1")}),
             Array({Int(100), Int(2), Int(0), Int(101), Int(0), Int(1)})});
  auto doc = UserAnalyticsJson("u1", reply);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc.value(), nlohmann::json::parse(R"({
    "user_id": "u1", "total": 3, "allowed": 2, "blocked": 1,
    "by_action": {"api.v2:x": {"allowed": 2, "blocked": 1}},
    "by_outcome": {"allowed": 2, "blocked": 1},
    "last_minutes": [{"minute": 100, "allowed": 2, "blocked": 0},
                     {"minute": 101, "allowed": 0, "blocked": 1}]})"));
}

TEST(UserAnalyticsJson, UnknownUserGetsZeros) {
  auto doc = UserAnalyticsJson("nobody", Array({Array({}), Array({})}));
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc.value()["total"], 0);
  EXPECT_EQ(doc.value()["allowed"], 0);
  EXPECT_EQ(doc.value()["blocked"], 0);
  EXPECT_TRUE(doc.value()["by_action"].empty());
  EXPECT_TRUE(doc.value()["last_minutes"].is_array());
}

TEST(UserAnalyticsJson, RejectsUnexpectedReplies) {
  RedisValue error;
  error.type = RedisValue::Type::kError;
  error.str = "NOSCRIPT";
  EXPECT_FALSE(UserAnalyticsJson("u", error).ok());
  EXPECT_FALSE(UserAnalyticsJson("u", Array({})).ok());
}

}  // namespace
}  // namespace rl::analytics
