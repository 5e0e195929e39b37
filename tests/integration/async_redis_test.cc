// AsyncRedis against a real redis-server, on a libevent loop run by the test: replies matched to
// calls in order, deadlines answered on time when Redis stops mid-pipeline, a timed-out EVALSHA
// never sent again, NOSCRIPT resent once as EVAL, reconnecting with backoff, the in-flight cap.
#include "common/redis/async_redis.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>

#include "tests/support/support.h"

namespace rl::testing {
namespace {

using common::Result;
using common::Status;
using std::chrono::milliseconds;

class AsyncRedisTest : public ::testing::Test {
 protected:
  ~AsyncRedisTest() override {
    redis_async_.reset();
    event_base_free(loop_);
  }
  common::AsyncRedis& Connect(common::AsyncRedisOptions options = {}) {
    options.endpoint = common::ParseRedisUrl(redis_.url()).value();
    options.reconnect_min_ms = 20;
    options.reconnect_max_ms = 100;
    options.script_reloads = &script_reloads_;
    redis_async_ = std::make_unique<common::AsyncRedis>(loop_, options, clock_);
    return *redis_async_;
  }
  // Runs the loop until `done` or `limit` passes; true if done.
  bool RunUntil(const std::function<bool()>& done, milliseconds limit = milliseconds(5000)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      const timeval slice{0, 2000};
      event_base_loopexit(loop_, &slice);
      event_base_dispatch(loop_);
    }
    return true;
  }
  int64_t In(int ms) const { return clock_.MonotonicUs() + ms * 1000LL; }

  RedisServer redis_;
  common::SystemClock clock_;
  common::MetricsRegistry metrics_;
  common::Counter& script_reloads_ = metrics_.AddCounter("reloads", "");
  event_base* loop_ = event_base_new();
  std::unique_ptr<common::AsyncRedis> redis_async_;
};

TEST_F(AsyncRedisTest, CallsOfOneTurnAreAnsweredInOrderAndErrorRepliesAreFailedResults) {
  auto& redis = Connect();
  redis_.Must({"LPUSH", "a-list", "x"});
  std::vector<Result<common::RedisValue>> answers;
  for (int i = 0; i < 1000; ++i) {
    redis.Command({"INCR", "n"}, In(2000),
                  [&](Result<common::RedisValue> r) { answers.push_back(std::move(r)); });
  }
  redis.Command({"GET", "a-list"}, In(2000),
                [&](Result<common::RedisValue> r) { answers.push_back(std::move(r)); });
  EXPECT_EQ(redis.in_flight(), 1001u);
  ASSERT_TRUE(RunUntil([&] { return answers.size() == 1001; }));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(answers[i].ok()) << answers[i].status().message();
    EXPECT_EQ(answers[i]->integer, i + 1);  // each reply to its own call, in order
  }
  ASSERT_FALSE(answers[1000].ok());
  EXPECT_TRUE(answers[1000].status().IsErrorReply("WRONGTYPE"));
  EXPECT_EQ(redis.in_flight(), 0u);
}

TEST_F(AsyncRedisTest, AStoppedServerGetsEveryCallATimelyAnswerAndATimedOutEvalIsNeverResent) {
  auto& redis = Connect();
  const common::LuaScript incr("return redis.call('INCR', KEYS[1])");
  std::optional<Result<common::RedisValue>> first;
  redis.Eval(incr, {"charged"}, {}, In(2000), [&](auto r) { first = std::move(r); });
  ASSERT_TRUE(RunUntil([&] { return first.has_value(); }));
  ASSERT_TRUE(first->ok()) << first->status().message();

  redis_.Pause();  // connections open, nothing answered: mid-pipeline for every call below
  std::optional<Result<common::RedisValue>> timed_out, dropped;
  const auto sent = std::chrono::steady_clock::now();
  redis.Eval(incr, {"charged"}, {}, In(50), [&](auto r) { timed_out = std::move(r); });
  redis.Command({"GET", "other"}, In(1000), [&](auto r) { dropped = std::move(r); });
  ASSERT_TRUE(RunUntil([&] { return timed_out && dropped; }));
  const auto waited = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(timed_out->status().code(), Status::Code::kTimeout);
  EXPECT_GE(waited, milliseconds(45));
  EXPECT_LT(waited, milliseconds(500));
  // The connection was given up at the first deadline: the other call is answered, not left
  // waiting behind it until its own.
  EXPECT_EQ(dropped->status().code(), Status::Code::kUnavailable);

  redis_.Resume();
  Result<common::RedisValue> after = Status::Unavailable("not asked yet");
  ASSERT_TRUE(RunUntil([&] {  // asked until the connection is back
    std::optional<Result<common::RedisValue>> answer;
    redis.Command({"GET", "charged"}, In(1000), [&](auto r) { answer = std::move(r); });
    RunUntil([&] { return answer.has_value(); });
    after = std::move(*answer);
    return after.ok();
  }));
  // The EVALSHA that timed out ran once when Redis resumed (it had been sent) and never again.
  EXPECT_EQ(after.value().str, "2");
}

// A call late behind a busy server times out alone: the server keeps answering, so the
// connection and every other call on it are kept (dropping it failed every call in flight, a
// whole loop's pipeline, for one slow script).
TEST_F(AsyncRedisTest, ACallLateBehindABusyServerTimesOutAloneAndTheOthersAreAnswered) {
  common::AsyncRedisOptions options;
  options.stall_ms = 500;
  auto& redis = Connect(options);
  // Busy for 30 ms inside Redis, as a long pipeline of scripts would keep it.
  const common::LuaScript busy(
      "local s = redis.call('TIME') "
      "repeat local n = redis.call('TIME') "
      "until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 30000 "
      "return redis.call('INCR', KEYS[1])");
  std::optional<Result<common::RedisValue>> late, behind;
  redis.Eval(busy, {"busy"}, {}, In(5), [&](auto r) { late = std::move(r); });
  redis.Command({"INCR", "behind"}, In(1000), [&](auto r) { behind = std::move(r); });
  ASSERT_TRUE(RunUntil([&] { return late && behind; }));
  EXPECT_EQ(late->status().code(), Status::Code::kTimeout);  // by its own deadline
  ASSERT_TRUE(behind->ok()) << behind->status().message();    // the connection was kept
  EXPECT_EQ(behind->value().integer, 1);
  EXPECT_TRUE(redis.connected());
  // The late script's reply was read and dropped: the next call gets its own.
  std::optional<Result<common::RedisValue>> next;
  redis.Command({"GET", "busy"}, In(1000), [&](auto r) { next = std::move(r); });
  ASSERT_TRUE(RunUntil([&] { return next.has_value(); }));
  ASSERT_TRUE(next->ok());
  EXPECT_EQ(next->value().str, "1");  // it ran once
  EXPECT_EQ(redis.in_flight(), 0u);
}

TEST_F(AsyncRedisTest, NoscriptIsResentOnceAsEval) {
  auto& redis = Connect();
  const common::LuaScript twice("return tonumber(ARGV[1]) * 2");
  redis_.Must({"SCRIPT", "FLUSH"});
  std::optional<Result<common::RedisValue>> answer;
  redis.Eval(twice, {}, {"21"}, In(2000), [&](auto r) { answer = std::move(r); });
  ASSERT_TRUE(RunUntil([&] { return answer.has_value(); }));
  ASSERT_TRUE(answer->ok()) << answer->status().message();
  EXPECT_EQ(answer->value().integer, 42);
  EXPECT_EQ(script_reloads_.Value(), 1u);
  answer.reset();
  redis.Eval(twice, {}, {"5"}, In(2000), [&](auto r) { answer = std::move(r); });
  ASSERT_TRUE(RunUntil([&] { return answer.has_value(); }));
  EXPECT_EQ(answer->value().integer, 10);
  EXPECT_EQ(script_reloads_.Value(), 1u);  // cached by the EVAL: EVALSHA from then on
}

TEST_F(AsyncRedisTest, AfterTheServerIsGoneCallsAreRefusedFastThenItReconnects) {
  auto& redis = Connect();
  std::optional<Result<common::RedisValue>> answer;
  auto ask = [&] {
    answer.reset();
    redis.Command({"PING"}, In(1000), [&](auto r) { answer = std::move(r); });
    return RunUntil([&] { return answer.has_value(); });
  };
  ASSERT_TRUE(ask());
  ASSERT_TRUE(answer->ok());
  redis_.Kill();
  ASSERT_TRUE(ask());
  EXPECT_EQ(answer->status().code(), Status::Code::kUnavailable);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(ask());  // backing off: refused at once, not after a connect attempt
  EXPECT_EQ(answer->status().code(), Status::Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(50));
  redis_.Start();
  ASSERT_TRUE(RunUntil([&] { return ask() && answer->ok(); }, milliseconds(10000)));
}

TEST_F(AsyncRedisTest, CallsBeyondTheInFlightCapAreRefusedAtOnce) {
  auto& redis = Connect({.max_in_flight = 2});
  redis_.Pause();
  std::vector<Result<common::RedisValue>> answers;
  for (int i = 0; i < 3; ++i) {
    redis.Command({"PING"}, In(200), [&](auto r) { answers.push_back(std::move(r)); });
  }
  ASSERT_EQ(answers.size(), 1u);  // the third, before the loop ran at all
  EXPECT_EQ(answers[0].status().code(), Status::Code::kUnavailable);
  ASSERT_TRUE(RunUntil([&] { return answers.size() == 3; }));
  redis_.Resume();
}

TEST_F(AsyncRedisTest, DestroyingItAnswersEveryWaitingCall) {
  auto& redis = Connect();
  redis_.Pause();
  std::optional<Result<common::RedisValue>> answer;
  redis.Command({"PING"}, In(5000), [&](auto r) { answer = std::move(r); });
  RunUntil([] { return false; }, milliseconds(20));
  ASSERT_FALSE(answer);
  redis_async_.reset();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status().code(), Status::Code::kUnavailable);
  redis_.Resume();
}

}  // namespace
}  // namespace rl::testing
