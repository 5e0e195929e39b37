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

// A batch call: each request's keys and parameters in turn after the rule counts, and its reply
// read back request by request; a failed call fails every request of it.
TEST(PolicyBatchScriptCall, ListsEveryRequestInTurnAndTheReplyIsReadBackPerRequest) {
  RuleCheck one;
  one.key = "k1";
  one.ban_key = "k1:ban";
  one.strike_key = "k1:strikes";
  RuleCheck two = one;
  two.key = "k2";
  const std::vector<std::vector<RuleCheck>> requests = {{one}, {one, two}};
  const common::ScriptCall call = PolicyBatchScriptCall(requests, 1234);
  ASSERT_GE(call.args.size(), 5u);
  EXPECT_EQ(call.args[0], "1234");
  EXPECT_EQ(call.args[1], "batch");
  EXPECT_EQ(call.args[2], "2");
  EXPECT_EQ(call.args[3], "1");
  EXPECT_EQ(call.args[4], "2");
  EXPECT_EQ(call.args.size(), 5u + 10 * 3);
  EXPECT_EQ(call.keys, (std::vector<std::string>{"k1", "k1:ban", "k1:strikes", "k1", "k1:ban",
                                                 "k1:strikes", "k2", "k1:ban", "k1:strikes"}));

  RedisValue reply;
  reply.type = RedisValue::Type::kArray;
  reply.elements = {Int(5), Int(0), Int(1), Int(9), Int(10), Int(0), Int(0),   // request 1
                    Int(6), Int(0), Int(1), Int(8), Int(10), Int(0), Int(0),   // request 2, rule 1
                    Int(0), Int(0), Int(20), Int(7), Int(0)};                  // request 2, rule 2
  const auto answers = ParsePolicyBatchReply(reply, requests);
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_TRUE(answers[0].ok());
  EXPECT_EQ(answers[0]->now_ms, 5);
  EXPECT_EQ(answers[0]->answer.rules[0].remaining, 9);
  ASSERT_TRUE(answers[1].ok());
  ASSERT_EQ(answers[1]->answer.rules.size(), 2u);
  EXPECT_FALSE(answers[1]->answer.rules[1].allowed);
  EXPECT_EQ(answers[1]->answer.rules[1].retry_after_ms, 7);

  reply.elements.pop_back();  // a reply of the wrong length fails every request
  for (const auto& answer : ParsePolicyBatchReply(reply, requests)) EXPECT_FALSE(answer.ok());
  const auto failed =
      ParsePolicyBatchReply(common::Status::Timeout("no answer by the deadline"), requests);
  ASSERT_EQ(failed.size(), 2u);
  for (const auto& answer : failed) {
    EXPECT_EQ(answer.status().code(), common::Status::Code::kTimeout);
  }
}

}  // namespace
}  // namespace rl::limiter
