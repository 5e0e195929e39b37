#include "common/analytics/analytics_query.h"

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

TEST(LimiterState, ARunningRecordThatStoppedAgeingIsStale) {
  EXPECT_EQ(LimiterState("running", 9'000, 5), "running");
  EXPECT_EQ(LimiterState("running", 10'001, 5), "stale");        // at least 10 s
  EXPECT_EQ(LimiterState("running", 20'000, 5'000), "running");  // and 5 intervals
  EXPECT_EQ(LimiterState("running", 25'001, 5'000), "stale");
  EXPECT_EQ(LimiterState("stopped", 999'999, 5), "stopped");  // a clean stop stays stopped
  EXPECT_EQ(LimiterState("unknown", std::nullopt, 0), "unknown");
}

TEST(ParseUserAnalytics, ReadsCountersActionsAndMinutes) {
  RedisValue reply =
      Array({Array({Str("total"), Str("3"), Str("allowed"), Str("2"), Str("blocked"), Str("1"),
                    Str("o:allowed"), Str("2"), Str("o:blocked"), Str("1"),
                    Str("a:api.v2:x:allowed"), Str("2"), Str("a:api.v2:x:blocked"), Str("1"),
                    Str("r:per-user:blocked"), Str("1"), Str("r:a:b:banned"), Str("4")}),
             Array({Int(100), Int(2), Int(0), Int(101), Int(0), Int(1)})});
  auto user = ParseUserAnalytics("u1", reply);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->user_id, "u1");
  EXPECT_EQ(user->counts.total, 3);
  EXPECT_EQ(user->counts.allowed, 2);
  EXPECT_EQ(user->counts.blocked, 1);
  EXPECT_EQ(user->counts.by_outcome,
            (std::map<std::string, int64_t>{{"allowed", 2}, {"blocked", 1}}));
  ASSERT_EQ(user->by_action.size(), 1u);
  EXPECT_EQ(user->by_action["api.v2:x"].allowed, 2);
  EXPECT_EQ(user->by_action["api.v2:x"].blocked, 1);
  ASSERT_EQ(user->last_minutes.size(), 2u);
  EXPECT_EQ(user->last_minutes[0].minute, 100);
  EXPECT_EQ(user->last_minutes[0].allowed, 2);
  EXPECT_EQ(user->last_minutes[1].minute, 101);
  EXPECT_EQ(user->last_minutes[1].blocked, 1);
  EXPECT_EQ(user->by_rule["per-user"]["blocked"], 1);
  EXPECT_EQ(user->by_rule["a:b"]["banned"], 4);  // a rule name with a colon
}

TEST(ParseUserAnalytics, UnknownUserGetsZeros) {
  auto user = ParseUserAnalytics("nobody", Array({Array({}), Array({})}));
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->counts.total, 0);
  EXPECT_EQ(user->counts.allowed, 0);
  EXPECT_EQ(user->counts.blocked, 0);
  EXPECT_TRUE(user->by_action.empty());
  EXPECT_TRUE(user->last_minutes.empty());
}

TEST(ParseUserAnalytics, RejectsUnexpectedReplies) {
  RedisValue error;
  error.type = RedisValue::Type::kError;
  error.str = "NOSCRIPT";
  EXPECT_FALSE(ParseUserAnalytics("u", error).ok());
  EXPECT_FALSE(ParseUserAnalytics("u", Array({})).ok());
}

TEST(ParseUserAnalytics, UnreadableCountersCountAsZeroNeverThrow) {
  auto user = ParseUserAnalytics(
      "u", Array({Array({Str("total"), Str(std::string(400, '9')), Str("allowed"), Str("x")}),
                  Array({})}));
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->counts.total, 0);
  EXPECT_EQ(user->counts.allowed, 0);
}

}  // namespace
}  // namespace rl::analytics
