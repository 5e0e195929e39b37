// Every binary starts, answers GET /health, stops cleanly on SIGTERM, and refuses bad
// configuration at start with a message naming the setting.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

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

// Every listening socket is this process's alone: a second instance started on a port the first
// holds (each service's HTTP port, the limiter's gRPC port) stops at start with exit code 1 and
// says which address it cannot bind. Before, cpp-httplib and grpc++ set SO_REUSEPORT, so the
// second bound too and the kernel split the connections between the two.
struct ListeningPort {
  const char* name;
  const char* binary;
  const char* port_variable;
};

void PrintTo(const ListeningPort& port, std::ostream* os) { *os << port.name; }

class EveryListeningSocket : public ::testing::TestWithParam<ListeningPort> {};

TEST_P(EveryListeningSocket, IsExclusiveSoASecondInstanceOnItsPortFailsToStart) {
  RedisServer redis;
  const std::string binary = GetParam().binary;
  const std::string variable = GetParam().port_variable;
  Env env = {{"REDIS_URL", redis.url()},
             {"KAFKA_BROKERS", kNoBroker},
             {"KAFKA_STARTUP_WAIT_MS", "0"},
             {"KAFKA_FLUSH_TIMEOUT_MS", "200"},
             {"LIMITER_URLS", "http://127.0.0.1:1"}};
  const int grpc_port = FreePort();
  if (binary == "limiter") env["GRPC_PORT"] = std::to_string(grpc_port);
  // The first instance holds its ports.
  const std::string http_variable = binary == "limiter"   ? "LIMITER_PORT"
                                    : binary == "gateway" ? "GATEWAY_PORT"
                                                          : "WORKER_PORT";
  ServiceProcess first(binary, http_variable, env);
  // The second shares one port with it: the one under test. Its other ports are free.
  Env second_env = env;
  second_env[http_variable] = std::to_string(FreePort());
  if (binary == "limiter") second_env["GRPC_PORT"] = std::to_string(FreePort());
  const int taken = variable == "GRPC_PORT" ? grpc_port : first.port();
  second_env[variable] = std::to_string(taken);
  std::string dir = MakeTempDir("second");
  ChildProcess second({BinaryPath(binary)}, second_env, dir + "/second.log");
  EXPECT_EQ(second.WaitExit(30s), 1) << second.LogTail();
  EXPECT_NE(second.LogTail().find("cannot listen on 127.0.0.1:" + std::to_string(taken)),
            std::string::npos)
      << second.LogTail();
  // The first still serves, alone.
  auto res = first.Client()->Get("/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

INSTANTIATE_TEST_SUITE_P(Ports, EveryListeningSocket,
                         ::testing::Values(ListeningPort{"limiter_http", "limiter", "LIMITER_PORT"},
                                           ListeningPort{"limiter_grpc", "limiter", "GRPC_PORT"},
                                           ListeningPort{"gateway_http", "gateway", "GATEWAY_PORT"},
                                           ListeningPort{"worker_http", "analytics-worker",
                                                         "WORKER_PORT"}),
                         [](const auto& info) { return std::string(info.param.name); });

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

// A listening socket on a free loopback port that counts who connected, never answering.
class Listener {
 public:
  Listener() : port_(FreePort()) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  // Connections made so far (accepted now, without waiting).
  int Connections() {
    int n = 0;
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, 0) == 1) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) break;
      ::close(c);
      ++n;
    }
    return n;
  }

 private:
  int port_;
  int fd_ = -1;
};

const char* kBadLimits = R"(version: v1
rules:
  - name: per-user
    limit: 10
    window: 1m
    algorithm: no_such_algorithm
  - name: logins
    limit: -3
    window: 1m
)";

TEST(LimiterConfigCheck, ABrokenLimitsFileIsReportedWithEveryBadValueBeforeAnyConnection) {
  const std::string dir = MakeTempDir("limits-check");
  std::ofstream(dir + "/limits.yaml") << kBadLimits;
  Listener redis, kafka;
  ChildProcess limiter({BinaryPath("limiter")},
                       {{"LIMITS_FILE", dir + "/limits.yaml"},
                        {"REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis.port())},
                        {"KAFKA_BROKERS", "127.0.0.1:" + std::to_string(kafka.port())}},
                       dir + "/limiter.log");
  EXPECT_EQ(limiter.WaitExit(10s), 2);
  const std::string log = limiter.LogTail();
  // The file, the place, the bad value and what is allowed; every error, not just the first.
  EXPECT_NE(log.find(dir + "/limits.yaml"), std::string::npos) << log;
  EXPECT_NE(log.find("rules[0].algorithm: \"no_such_algorithm\" is not one of"), std::string::npos)
      << log;
  EXPECT_NE(log.find("rules[1].limit: \"-3\""), std::string::npos) << log;
  EXPECT_EQ(redis.Connections(), 0);
  EXPECT_EQ(kafka.Connections(), 0);
}

TEST(LimiterConfigCheck, CheckConfigValidatesWithoutConnectingAndExitsZeroOrOne) {
  const std::string dir = MakeTempDir("check-config");
  std::ofstream(dir + "/bad.yaml") << kBadLimits;
  std::ofstream(dir + "/syntax.yaml") << "rules:\n  - name: a\n    limit: [1\n";
  Listener redis;
  const Env env = {{"REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis.port())}};
  ChildProcess bad({BinaryPath("limiter"), "--check-config", dir + "/bad.yaml"}, env,
                   dir + "/bad.log");
  EXPECT_EQ(bad.WaitExit(10s), 1);
  EXPECT_NE(bad.LogTail().find("no_such_algorithm"), std::string::npos) << bad.LogTail();
  EXPECT_NE(bad.LogTail().find("\"-3\""), std::string::npos) << bad.LogTail();
  ChildProcess syntax({BinaryPath("limiter"), "--check-config", dir + "/syntax.yaml"}, env,
                      dir + "/syntax.log");
  EXPECT_EQ(syntax.WaitExit(10s), 1);
  EXPECT_NE(syntax.LogTail().find("line 4, column 1"), std::string::npos) << syntax.LogTail();
  ChildProcess good({BinaryPath("limiter"), "--check-config", SourcePath("config/limits.yaml")},
                    env, dir + "/good.log");
  EXPECT_EQ(good.WaitExit(10s), 0) << good.LogTail();
  EXPECT_NE(good.LogTail().find("valid"), std::string::npos) << good.LogTail();
  ChildProcess example(
      {BinaryPath("limiter"), "--check-config", SourcePath("config/limits.example.yaml")}, env,
      dir + "/example.log");
  EXPECT_EQ(example.WaitExit(10s), 0) << example.LogTail();
  EXPECT_EQ(redis.Connections(), 0);
}

}  // namespace
}  // namespace rl::testing
