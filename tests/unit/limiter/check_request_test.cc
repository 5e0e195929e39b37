#include "limiter/core/check_request.h"

#include <gtest/gtest.h>

#include "common/base/identifiers.h"

namespace rl::limiter {
namespace {

TEST(ParseCheckRequest, OnlyUserIdIsRequired) {
  auto r = ParseCheckRequest(R"({"user_id":"u1"})", 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->user_id, "u1");
  EXPECT_EQ(r->action, "default");
  EXPECT_EQ(r->cost, 1);
}

TEST(ParseCheckRequest, ReadsEveryField) {
  auto r =
      ParseCheckRequest(R"({"user_id":"ü-1","action":"api.v2:read","cost":3,"api_key":"k"})", 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->user_id, "ü-1");
  EXPECT_EQ(r->action, "api.v2:read");
  EXPECT_EQ(r->cost, 3);
  EXPECT_EQ(r->api_key, "k");
}

TEST(ParseCheckRequest, SameKeyInDifferentObjectsIsNotADuplicate) {
  EXPECT_TRUE(
      ParseCheckRequest(R"({"user_id":"a","x":{"user_id":1},"y":[{"k":1},{"k":2}]})", 10).ok());
}

TEST(ParseCheckRequest, IgnoresUnknownFields) {
  EXPECT_TRUE(ParseCheckRequest(R"({"user_id":"u1","trace":{"x":[1,2]}})", 10).ok());
}

struct BadBody {
  const char* name;
  std::string body;
  const char* message_part;
};
void PrintTo(const BadBody& b, std::ostream* os) { *os << b.name; }

class ParseCheckRequestRejects : public ::testing::TestWithParam<BadBody> {};

TEST_P(ParseCheckRequestRejects, WithAMessageNamingTheProblem) {
  auto r = ParseCheckRequest(GetParam().body, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), common::Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(GetParam().message_part), std::string::npos)
      << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    BadBodies, ParseCheckRequestRejects,
    ::testing::Values(
        BadBody{"empty", "", "not valid JSON"},
        BadBody{"truncated", R"({"user_id":"u1")", "not valid JSON"},
        BadBody{"trailing_garbage", R"({"user_id":"u1"} x)", "not valid JSON"},
        BadBody{"invalid_utf8", "{\"user_id\":\"\xff\xfe\"}", "not valid JSON"},
        BadBody{"lone_surrogate", R"({"user_id":"\ud800"})", "not valid JSON"},
        BadBody{"array", R"([{"user_id":"u1"}])", "JSON object"},
        BadBody{"string", R"("u1")", "JSON object"},
        BadBody{"missing_user", R"({"action":"a"})", "user_id is required"},
        BadBody{"null_user", R"({"user_id":null})", "user_id must be a string"},
        BadBody{"number_user", R"({"user_id":7})", "user_id must be a string"},
        BadBody{"empty_user", R"({"user_id":""})", "user_id must be 1..128"},
        BadBody{"long_user", "{\"user_id\":\"" + std::string(129, 'a') + "\"}",
                "user_id must be 1..128"},
        BadBody{"control_char_user", R"({"user_id":"a\u0001b"})", "user_id must be 1..128"},
        BadBody{"nul_user", R"({"user_id":"a\u0000b"})", "user_id must be 1..128"},
        BadBody{"c1_control_user", R"({"user_id":"a\u0085b"})", "user_id must be 1..128"},
        BadBody{"bad_action_char", R"({"user_id":"u","action":"a b"})", "action must match"},
        BadBody{"empty_action", R"({"user_id":"u","action":""})", "action must match"},
        BadBody{"long_action", "{\"user_id\":\"u\",\"action\":\"" + std::string(65, 'a') + "\"}",
                "action must match"},
        BadBody{"brace_action", R"({"user_id":"u","action":"{x}"})", "action must match"},
        BadBody{"number_action", R"({"user_id":"u","action":1})", "action must be a string"},
        BadBody{"zero_cost", R"({"user_id":"u","cost":0})", "cost must be an integer from 1 to 10"},
        BadBody{"negative_cost", R"({"user_id":"u","cost":-1})", "cost must be an integer"},
        BadBody{"cost_above_capacity", R"({"user_id":"u","cost":11})", "cost must be an integer"},
        BadBody{"huge_cost", R"({"user_id":"u","cost":1e400})", "not valid JSON"},
        BadBody{"huge_integer_cost", R"({"user_id":"u","cost":18446744073709551615})",
                "cost must be an integer"},
        BadBody{"fractional_cost", R"({"user_id":"u","cost":1.5})", "cost must be an integer"},
        BadBody{"string_cost", R"({"user_id":"u","cost":"1"})", "cost must be an integer"},
        BadBody{"null_cost", R"({"user_id":"u","cost":null})", "cost must be an integer"},
        BadBody{"number_api_key", R"({"user_id":"u","api_key":5})", "api_key must be a string"},
        BadBody{"duplicate_user_id", R"({"user_id":"a","user_id":"b"})", "duplicate key"},
        BadBody{"duplicate_nested_key", R"({"user_id":"a","x":{"k":1,"k":2}})", "duplicate key"},
        BadBody{"byte_order_mark", "\xEF\xBB\xBF{\"user_id\":\"u\"}", "byte order mark"},
        BadBody{"deeply_nested", std::string(2000, '[') + std::string(2000, ']'), "JSON object"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(IsValidUserIdRule, AcceptsMultibyteUtf8UpToTheByteLimit) {
  EXPECT_TRUE(common::IsValidUserId("ユーザー"));
  EXPECT_TRUE(common::IsValidUserId(std::string(128, 'a')));
  EXPECT_TRUE(common::IsValidUserId("a:b{c}%"));
}

TEST(IsValidUserIdRule, RejectsMalformedUtf8) {
  EXPECT_FALSE(common::IsValidUserId("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(common::IsValidUserId("\xed\xa0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(common::IsValidUserId("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(common::IsValidUserId("\xe3\x81"));          // truncated sequence
  EXPECT_FALSE(common::IsValidUserId("a\x7f"));             // DEL
}

}  // namespace
}  // namespace rl::limiter

namespace rl::limiter {
namespace {

TEST(ParseBatchRequest, KeepsEachCheckInPlaceWithItsOwnError) {
  auto batch = ParseBatchRequest(
      R"({"checks":[{"user_id":"a"},{"user_id":""},7,{"api_key":"k","cost":2}]})", 10);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->items.size(), 4u);
  EXPECT_TRUE(batch->items[0].ok());
  EXPECT_EQ(batch->items[0]->user_id, "a");
  EXPECT_FALSE(batch->items[1].ok());
  EXPECT_NE(batch->items[1].status().message().find("user_id"), std::string::npos);
  EXPECT_FALSE(batch->items[2].ok());
  ASSERT_TRUE(batch->items[3].ok());
  EXPECT_EQ(batch->items[3]->cost, 2);
}

TEST(ParseBatchRequest, RefusesABatchThatIsNotOneToAHundredChecks) {
  std::string hundred_and_one = R"({"checks":[)";
  for (int i = 0; i <= 100; ++i)
    hundred_and_one += (i ? "," : "") + std::string(R"({"user_id":"u"})");
  hundred_and_one += "]}";
  for (const std::string& bad :
       {std::string("[]"), std::string("{}"), std::string(R"({"checks":[]})"),
        std::string(R"({"checks":{"user_id":"u"}})"), std::string("{"), hundred_and_one}) {
    EXPECT_FALSE(ParseBatchRequest(bad, 10).ok()) << bad.substr(0, 40);
  }
}

}  // namespace
}  // namespace rl::limiter
