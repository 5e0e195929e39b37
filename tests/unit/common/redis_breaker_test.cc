#include "common/redis/redis_breaker.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/redis/redis_client.h"

namespace rl::common {
namespace {

class RedisBreakerTest : public ::testing::Test {
 protected:
  uint64_t Opened() { return metrics_.AddCounter("rl_redis_circuit_opened_total", "").Value(); }
  uint64_t Rejected() { return metrics_.AddCounter("rl_redis_circuit_rejected_total", "").Value(); }
  // One call through the breaker that ends with `outcome` (an error reply if `error_reply`);
  // false if the breaker refused it.
  bool Call(const Status& outcome, bool error_reply = false) {
    if (!breaker_.Admit().ok()) return false;
    breaker_.Report(outcome, error_reply);
    return true;
  }

  ManualClock clock_;
  MetricsRegistry metrics_;
  RedisBreaker breaker_{{.failure_threshold = 3, .open_ms = 1000},
                        clock_,
                        RegisterRedisBreakerMetrics(metrics_),
                        "127.0.0.1:6379/0"};
};

TEST_F(RedisBreakerTest, OutagesOpenTheBreakerSoCallersStopWaiting) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Call(Status::Timeout("paused")));
  EXPECT_EQ(Opened(), 1u);
  EXPECT_FALSE(Call(Status::Ok()));  // refused without a call while open
  EXPECT_EQ(Rejected(), 1u);
  clock_.AdvanceMs(1001);
  EXPECT_TRUE(Call(Status::Ok()));  // the probe finds Redis back
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kClosed);
}

TEST_F(RedisBreakerTest, DataErrorsNeverOpenTheBreaker) {
  // WRONGTYPE, a malformed reply: Redis answered, so it is not unavailable.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(Call(Status::Ok(), /*error_reply=*/true));
  EXPECT_EQ(Opened(), 0u);
  EXPECT_TRUE(Call(Status::Ok()));
}

TEST_F(RedisBreakerTest, DataErrorsBetweenTimeoutsDoNotHideAnOutage) {
  EXPECT_TRUE(Call(Status::Timeout("paused")));
  EXPECT_TRUE(Call(Status::Timeout("paused")));
  EXPECT_TRUE(Call(Status::Ok(), /*error_reply=*/true));  // WRONGTYPE
  EXPECT_TRUE(Call(Status::Timeout("paused")));
  EXPECT_EQ(Opened(), 1u);
}

// An error reply about the server is an outage for its breaker; one about the call is an answer.
TEST(RedisErrorReplies, OnlyThoseAboutTheServerCountAgainstItsBreaker) {
  for (const char* server : {"OOM command not allowed when used memory > 'maxmemory'.",
                             "LOADING Redis is loading the dataset in memory", "BUSY Redis is busy",
                             "READONLY You can't write against a read only replica.",
                             "NOAUTH Authentication required.", "MASTERDOWN Link with MASTER is down",
                             "CLUSTERDOWN The cluster is down", "MISCONF", "WRONGPASS invalid"}) {
    EXPECT_TRUE(IsServerErrorReply(server)) << server;
  }
  for (const char* call : {"WRONGTYPE Operation against a key holding the wrong kind of value",
                           "ERR Error running script (call to f_x): @user_script:1: boom",
                           "NOSCRIPT No matching script.", "MOVED 3999 127.0.0.1:6381",
                           "ASK 3999 127.0.0.1:6381", "TRYAGAIN Multiple keys request", "OOMPH",
                           "ERR unknown command"}) {
    EXPECT_FALSE(IsServerErrorReply(call)) << call;
  }
}

// A loopback port nobody listens on: connections to it are refused at once.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The same breaker guards a standalone server and each primary of a cluster (RedisCluster builds
// its pools with these options): every call but PING goes through it.
TEST_F(RedisBreakerTest, APoolsCallsGoThroughItsBreakerAndPingNever) {
  RedisEndpoint endpoint;
  endpoint.port = ClosedPort();
  RedisPool pool({.endpoint = endpoint,
                  .breaker = CircuitBreakerOptions{.failure_threshold = 2, .open_ms = 60'000},
                  .clock = &clock_,
                  .breaker_metrics = RegisterRedisBreakerMetrics(metrics_)});
  EXPECT_FALSE(pool.Command({"GET", "k"}).ok());
  EXPECT_FALSE(pool.Eval(LuaScript("return 1"), {"k"}, {}).ok());
  EXPECT_EQ(pool.BreakerState(), CircuitBreaker::State::kOpen);
  EXPECT_EQ(Opened(), 1u);
  auto refused = pool.CommandPipelined({{"GET", "a"}, {"GET", "b"}});
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_NE(refused[0].status().message().find("circuit breaker open"), std::string::npos)
      << refused[0].status().message();
  EXPECT_EQ(Rejected(), 1u);
  int64_t latency_us = 0;
  const Status ping = pool.Ping(clock_, &latency_us);  // asks Redis itself
  EXPECT_FALSE(ping.ok());
  EXPECT_EQ(ping.message().find("circuit breaker open"), std::string::npos) << ping.message();
}

}  // namespace
}  // namespace rl::common
