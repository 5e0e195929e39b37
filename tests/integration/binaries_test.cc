// Every binary starts, answers GET /health, stops cleanly on SIGTERM, and refuses bad
// configuration at start with a message naming the setting.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/support.h"

namespace rl::testing {
namespace {

struct Binary {
  const char* name;
  const char* port_variable;
};

class BinaryLifecycle : public ::testing::TestWithParam<Binary> {};

TEST_P(BinaryLifecycle, AnswersHealthAndStopsCleanlyOnSigterm) {
  RedisServer redis;  // every binary's health includes its Redis
  const Env common_env = {{"REDIS_URL", redis.url()},
                          {"KAFKA_BROKERS", kNoBroker},
                          {"KAFKA_FLUSH_TIMEOUT_MS", "500"},
                          {"KAFKA_STARTUP_WAIT_MS", "0"}};
  std::unique_ptr<ServiceProcess> limiter;  // the gateway's health includes its limiters
  Env env = common_env;
  if (std::string(GetParam().name) == "gateway") {
    limiter = std::make_unique<ServiceProcess>("limiter", "LIMITER_PORT", common_env);
    env["LIMITER_URLS"] = "http://127.0.0.1:" + std::to_string(limiter->port());
  }
  ServiceProcess service(GetParam().name, GetParam().port_variable, env);
  auto res = service.Client()->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto metrics = service.Client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE "), std::string::npos);
  service.process().Signal(SIGTERM);
  EXPECT_EQ(service.process().WaitExit(30s), 0) << service.process().LogTail();
}

INSTANTIATE_TEST_SUITE_P(AllBinaries, BinaryLifecycle,
                         ::testing::Values(Binary{"limiter", "LIMITER_PORT"},
                                           Binary{"gateway", "GATEWAY_PORT"},
                                           Binary{"analytics-worker", "WORKER_PORT"}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

struct BadConfig {
  const char* variable;
  const char* value;
};

class LimiterRefusesBadConfiguration : public ::testing::TestWithParam<BadConfig> {};

TEST_P(LimiterRefusesBadConfiguration, NamingTheSetting) {
  std::string dir = MakeTempDir("badconfig");
  ChildProcess limiter({BinaryPath("limiter")}, {{GetParam().variable, GetParam().value}},
                       dir + "/limiter.log");
  EXPECT_EQ(limiter.WaitExit(10s), 2);
  EXPECT_NE(limiter.LogTail().find(GetParam().variable), std::string::npos) << limiter.LogTail();
}

INSTANTIATE_TEST_SUITE_P(
    Settings, LimiterRefusesBadConfiguration,
    ::testing::Values(BadConfig{"DEFAULT_REFILL_PER_SEC", "0"},
                      BadConfig{"DEFAULT_REFILL_PER_SEC", "fast"},
                      BadConfig{"DEFAULT_CAPACITY", "0"}, BadConfig{"FAIL_MODE", "sometimes"},
                      BadConfig{"REDIS_TIMEOUT_MS", "-5"}, BadConfig{"REDIS_URL", "http://x"},
                      BadConfig{"LIMITER_PORT", "99999"}),
    [](const auto& info) {
      return std::string(info.param.variable) + "_" + std::to_string(info.index);
    });

TEST(LimiterHelp, ListsTheSettings) {
  std::string dir = MakeTempDir("help");
  ChildProcess limiter({BinaryPath("limiter"), "--help"}, {}, dir + "/help.log");
  EXPECT_EQ(limiter.WaitExit(10s), 0);
  for (const char* name : {"REDIS_URL", "FAIL_MODE", "DEFAULT_CAPACITY", "KAFKA_BROKERS"}) {
    EXPECT_NE(limiter.LogTail().find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace rl::testing
