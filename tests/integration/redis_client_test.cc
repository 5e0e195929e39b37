// RedisClient against a real redis-server: every error, an error reply included, is a failed
// Result read one way (common/redis/redis_client.h), whichever call made it.
#include <gtest/gtest.h>

#include "common/redis/redis_client.h"
#include "tests/support/support.h"

namespace rl::testing {
namespace {

using common::Status;

constexpr char kWrongType[] = "WRONGTYPE";

TEST(RedisErrorChannel, AnErrorReplyIsAFailedResultWithTheReplyAsItsMessage) {
  RedisServer redis;
  common::RedisPool& client = redis.client();
  redis.Must({"LPUSH", "a-list", "x"});

  auto get = client.Command({"GET", "a-list"});
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), Status::Code::kErrorReply);
  EXPECT_TRUE(get.status().IsErrorReply(kWrongType)) << get.status().message();

  const common::LuaScript failing("return redis.error_reply('RULE broken')");
  auto eval = client.Eval(failing, {"k"}, {});
  ASSERT_FALSE(eval.ok());
  EXPECT_EQ(eval.status().code(), Status::Code::kErrorReply);
  EXPECT_EQ(eval.status().message(), "RULE broken");
}

TEST(RedisErrorChannel, InAPipelineOnlyTheCallThatFailedIsAFailure) {
  RedisServer redis;
  common::RedisPool& client = redis.client();
  redis.Must({"LPUSH", "a-list", "x"});
  redis.Must({"SET", "a-string", "v"});

  auto replies = client.CommandPipelined({{"GET", "a-string"}, {"GET", "a-list"}, {"GET", "none"}});
  ASSERT_EQ(replies.size(), 3u);
  ASSERT_TRUE(replies[0].ok());
  EXPECT_EQ(replies[0]->str, "v");
  ASSERT_FALSE(replies[1].ok());
  EXPECT_TRUE(replies[1].status().IsErrorReply(kWrongType)) << replies[1].status().message();
  ASSERT_TRUE(replies[2].ok());
  EXPECT_EQ(replies[2]->type, common::RedisValue::Type::kNil);

  const common::LuaScript type_of("return redis.call('GET', KEYS[1])");
  auto evals = client.EvalPipelined(type_of, {{{"a-string"}, {}}, {{"a-list"}, {}}});
  ASSERT_EQ(evals.size(), 2u);
  ASSERT_TRUE(evals[0].ok());
  EXPECT_EQ(evals[0]->str, "v");
  ASSERT_FALSE(evals[1].ok());
  EXPECT_EQ(evals[1].status().code(), Status::Code::kErrorReply);
}

TEST(RedisErrorChannel, AnUnreachableServerIsUnavailableNotAnErrorReply) {
  RedisServer redis;
  const std::string url = redis.url();
  redis.Kill();
  auto endpoint = common::ParseRedisUrl(url);
  ASSERT_TRUE(endpoint.ok());
  common::RedisPool client({.endpoint = endpoint.value(), .timeout_ms = 200});
  auto reply = client.Command({"GET", "k"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Status::Code::kUnavailable);
  EXPECT_FALSE(reply.status().IsErrorReply(""));
}

}  // namespace
}  // namespace rl::testing
