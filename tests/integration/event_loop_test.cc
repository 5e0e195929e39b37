// The limiter's event-driven decision path (LIMITER_EVENT_PORT: evhttp loops, Redis asked
// without waiting), against a real Redis: the same decisions as the threaded port, deadlines on
// time when Redis stops, bodies refused before they are read, clients that leave early, and a port
// that is this process's alone.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/support.h"

namespace rl::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class EventLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    event_port_ = FreePort();
    limiter_ = StartLimiter(redis_, kNoBroker, "rl.event",
                            {{"LIMITER_EVENT_PORT", std::to_string(event_port_)},
                             {"LIMITER_THREADS", "2"},
                             {"REDIS_TIMEOUT_MS", "50"},
                             {"FAIL_MODE", "open"},
                             {"KAFKA_STARTUP_WAIT_MS", "0"}});
    threaded_ = limiter_->Client();
    event_ = std::make_unique<httplib::Client>("127.0.0.1", event_port_);
    event_->set_read_timeout(5, 0);
  }
  static json Body(const httplib::Result& res) { return json::parse(res->body); }

  RedisServer redis_;
  int event_port_ = 0;
  std::unique_ptr<ServiceProcess> limiter_;
  std::unique_ptr<httplib::Client> threaded_;
  std::unique_ptr<httplib::Client> event_;
};

TEST_F(EventLoopTest, ChecksOnTheEventPortShareTheBucketsAndTheAnswersOfTheThreadedPort) {
  // A bucket of 5: the two ports take from the same one.
  for (int i = 0; i < 5; ++i) {
    auto& client = i % 2 ? *threaded_ : *event_;
    auto res = PostCheck(client, R"({"user_id":"shared"})");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(Body(res)["remaining"], 4 - i);
  }
  auto blocked = PostCheck(*event_, R"({"user_id":"shared"})");
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->status, 429);
  EXPECT_EQ(Body(blocked)["outcome"], "blocked");
  EXPECT_FALSE(blocked->get_header_value("Retry-After").empty());
  EXPECT_EQ(blocked->get_header_value("X-RateLimit-Remaining"), "0");
  EXPECT_EQ(blocked->get_header_value("X-Request-Id").size(), 32u);
  auto batch = event_->Post("/check/batch",
                            R"({"checks":[{"user_id":"b"},{"user_id":""},{"user_id":"b","cost":9}]})",
                            "application/json");
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 200) << batch->body;
  const json results = Body(batch)["results"];
  EXPECT_EQ(results[0]["status"], 200);
  EXPECT_EQ(results[1]["status"], 400);
  EXPECT_EQ(results[2]["status"], 400);  // a cost above the bucket: a client error
  // Every decision is counted once, whichever port made it.
  EXPECT_EQ(MetricValue(*threaded_, "rl_decisions_total{outcome=\"allowed\"}"), 6);
  EXPECT_EQ(MetricValue(*threaded_, "rl_decisions_total{outcome=\"blocked\"}"), 1);
  // Bad input: the same refusals as the threaded port, before any Redis call.
  EXPECT_EQ(event_->Post("/check", R"({"user_id":7})", "application/json")->status, 400);
  EXPECT_EQ(event_->Post("/check", R"({"user_id":"u"})", "text/plain")->status, 415);
  EXPECT_EQ(event_->Get("/nowhere")->status, 404);
  EXPECT_EQ(event_->Get("/check")->status, 405);
}

TEST_F(EventLoopTest, AStoppedRedisGetsTheFailModeByTheDeadlineAndRecovers) {
  ASSERT_EQ(PostCheck(*event_, R"({"user_id":"p"})")->status, 200);
  redis_.Pause();
  const auto start = std::chrono::steady_clock::now();
  auto res = PostCheck(*event_, R"({"user_id":"p"})");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Body(res)["outcome"], "fail_open");
  EXPECT_LT(took, milliseconds(500));  // REDIS_TIMEOUT_MS=50, and a margin
  EXPECT_GE(MetricValue(*threaded_, "rl_redis_errors_total{kind=\"timeout\"}"), 1);
  redis_.Resume();
  EXPECT_TRUE(Eventually(
      [&] { return Outcome(PostCheck(*event_, R"({"user_id":"p"})")) == "allowed"; },
      std::chrono::seconds(10)));
}

TEST_F(EventLoopTest, AnOversizedBodyIsRefusedBeforeItIsRead) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(event_port_));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string head =
      "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 10000000000\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  timeval wait{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  char answer[512] = {};
  const ssize_t n = ::recv(fd, answer, sizeof(answer) - 1, 0);  // no byte of the body was sent
  ::close(fd);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(answer).rfind("HTTP/1.1 413", 0), 0u) << answer;
}

TEST(EventLoopSlowRequests, TricklingRequestsGetA408AfterTheRequestTimeout) {
  RedisServer redis;
  const int event_port = FreePort();
  auto limiter = StartLimiter(redis, kNoBroker, "rl.event.slow",
                              {{"LIMITER_EVENT_PORT", std::to_string(event_port)},
                               {"HTTP_REQUEST_TIMEOUT_MS", "1000"},
                               {"KAFKA_STARTUP_WAIT_MS", "0"}});
  // Headers a byte at a time: each byte resets evhttp's per-read timeout, never the total one.
  const int fd = ConnectLoopback(event_port);
  ASSERT_GE(fd, 0);
  const std::string head = "POST /check HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  std::string received;
  bool closed = false;
  const auto start = std::chrono::steady_clock::now();
  while (!closed && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    send(fd, " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    char buf[1024];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) received.append(buf, n);
    closed = n == 0;
    std::this_thread::sleep_for(milliseconds(200));
  }
  close(fd);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(received.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << received;
  EXPECT_EQ(MetricValue(*limiter->Client(), "rl_http_requests_timed_out_total"), 1);
}

// Everything a connection receives until the server closes it (or `wait` passes).
std::string ReadUntilClosed(int fd, std::chrono::milliseconds wait) {
  timeval timeout{static_cast<time_t>(wait.count() / 1000),
                  static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string received;
  char buf[1024];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) received.append(buf, n);
  return n == 0 ? received : received + "<not closed>";
}

std::string CheckRequest(const std::string& user) {
  const std::string body = R"({"user_id":")" + user + R"("})";
  return "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// HTTP_MAX_CONNECTIONS caps the connections open on the port at once, idle ones included (a
// client holding sockets open is the cheapest attack on an event loop): one more is answered a
// JSON 503 and closed at once, counted and logged; when one closes, a new one is served again.
TEST(EventLoopLimits, ConnectionsBeyondTheCapAreAnswered503AndClosed) {
  RedisServer redis;
  const int event_port = FreePort();
  auto limiter = StartLimiter(redis, kNoBroker, "rl.event.cap",
                              {{"LIMITER_EVENT_PORT", std::to_string(event_port)},
                               {"HTTP_MAX_CONNECTIONS", "3"},
                               {"KAFKA_STARTUP_WAIT_MS", "0"}});
  auto metrics = limiter->Client();  // LIMITER_PORT: not under the event port's cap
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(ConnectLoopback(event_port));  // idle, silent
  ASSERT_TRUE(Eventually(
      [&] { return MetricValue(*metrics, "rl_http_connections_open{port=\"" +
                                             std::to_string(event_port) + "\"}") == 3; },
      std::chrono::seconds(5)));
  const int fourth = ConnectLoopback(event_port);
  ASSERT_GE(fourth, 0);
  const auto start = std::chrono::steady_clock::now();
  const std::string refused = ReadUntilClosed(fourth, milliseconds(3000));
  ::close(fourth);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));  // not a timeout
  ASSERT_EQ(refused.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << refused;
  const json error = json::parse(refused.substr(refused.find("\r\n\r\n") + 4));
  EXPECT_EQ(error["error"]["code"], "too_many_connections");
  EXPECT_EQ(MetricValue(*metrics, "rl_http_connections_refused_total{port=\"" +
                                      std::to_string(event_port) + "\"}"),
            1);
  // The held ones are served as usual, and a place freed is taken by the next client.
  const std::string request = CheckRequest("held");
  ASSERT_EQ(::send(held[0], request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  char head[12] = {};
  ASSERT_EQ(::recv(held[0], head, sizeof(head), MSG_WAITALL), static_cast<ssize_t>(sizeof(head)));
  EXPECT_EQ(std::string(head, 12), "HTTP/1.1 200");
  ::close(held[1]);
  ASSERT_TRUE(Eventually(
      [&] { return MetricValue(*metrics, "rl_http_connections_open{port=\"" +
                                             std::to_string(event_port) + "\"}") == 2; },
      std::chrono::seconds(5)));
  httplib::Client next("127.0.0.1", event_port);
  EXPECT_EQ(Outcome(PostCheck(next, R"({"user_id":"next"})")), "allowed");
  EXPECT_TRUE(limiter->process().Running());
  ::close(held[0]);
  ::close(held[2]);
}

// HTTP_KEEPALIVE_MAX_REQUESTS: a keep-alive connection's last answer says "Connection: close"
// and the connection is closed after it, so long-lived clients come back through the balancing.
TEST(EventLoopLimits, AKeepAliveConnectionClosesAfterItsMaximumOfRequests) {
  RedisServer redis;
  const int event_port = FreePort();
  auto limiter = StartLimiter(redis, kNoBroker, "rl.event.keepalive",
                              {{"LIMITER_EVENT_PORT", std::to_string(event_port)},
                               {"HTTP_KEEPALIVE_MAX_REQUESTS", "2"},
                               {"KAFKA_STARTUP_WAIT_MS", "0"}});
  const int fd = ConnectLoopback(event_port);
  ASSERT_GE(fd, 0);
  const std::string two = CheckRequest("ka1") + CheckRequest("ka2");
  ASSERT_EQ(::send(fd, two.data(), two.size(), MSG_NOSIGNAL), static_cast<ssize_t>(two.size()));
  const std::string received = ReadUntilClosed(fd, milliseconds(3000));
  ::close(fd);
  const size_t second = received.find("HTTP/1.1 200", 1);
  ASSERT_EQ(received.rfind("HTTP/1.1 200", 0), 0u) << received;
  ASSERT_NE(second, std::string::npos) << received;
  EXPECT_EQ(received.substr(0, second).find("Connection: close"), std::string::npos) << received;
  EXPECT_NE(received.substr(second).find("Connection: close"), std::string::npos) << received;
  EXPECT_EQ(received.find("<not closed>"), std::string::npos) << received;
}

TEST_F(EventLoopTest, ClientsThatLeaveBeforeTheirAnswerHarmNothing) {
  redis_.Pause();  // every answer waits for the deadline
  for (int i = 0; i < 20; ++i) {
    httplib::Client impatient("127.0.0.1", event_port_);
    impatient.set_read_timeout(0, 10'000);  // gone after 10 ms, before the 50 ms deadline
    impatient.Post("/check", R"({"user_id":"gone"})", "application/json");
  }
  std::this_thread::sleep_for(milliseconds(100));  // their deadlines pass: answers to no one
  redis_.Resume();
  EXPECT_TRUE(Eventually(
      [&] { return Outcome(PostCheck(*event_, R"({"user_id":"after"})")) == "allowed"; },
      std::chrono::seconds(10)));
  EXPECT_TRUE(limiter_->process().Running());
}

// Keep-alive connections that arrive together are spread over the loops: libevent's listener
// would have the first loop to wake accept every one waiting, leaving the other loops idle.
TEST_F(EventLoopTest, ConnectionsArrivingTogetherAreSpreadOverEveryLoop) {
  std::vector<int> sockets;
  for (int i = 0; i < 8; ++i) sockets.push_back(ConnectLoopback(event_port_));  // all waiting
  for (size_t i = 0; i < sockets.size(); ++i) {
    const int fd = sockets[i];
    const std::string request =
        "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 16\r\n\r\n{\"user_id\":\"k" + std::to_string(i) + "\"}";
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
  }
  for (int fd : sockets) {  // every one answered (the status line is enough)
    char head[12] = {};
    ASSERT_EQ(::recv(fd, head, sizeof(head), MSG_WAITALL), static_cast<ssize_t>(sizeof(head)));
    EXPECT_EQ(std::string(head, 12), "HTTP/1.1 200");
  }
  const double first = MetricValue(*threaded_, "rl_event_loop_connections_accepted{loop=\"0\"}");
  const double second = MetricValue(*threaded_, "rl_event_loop_connections_accepted{loop=\"1\"}");
  EXPECT_EQ(first + second, 8);
  EXPECT_EQ(first, 4);
  EXPECT_EQ(second, 4);
  for (int fd : sockets) ::close(fd);
}

// /health and /ready on the event port (what a gateway or a probe pointed at it asks) come from
// checks made off the loops, at most half a second old: they follow Redis without a loop ever
// waiting on it.
TEST_F(EventLoopTest, HealthAndReadinessAreAnsweredFromChecksMadeOffTheLoops) {
  constexpr std::chrono::seconds kFiveSeconds(5);
  ASSERT_TRUE(Eventually([&] { return event_->Get("/health")->status == 200; }, kFiveSeconds));
  auto health = event_->Get("/health");
  EXPECT_EQ(Body(health)["redis"]["ok"], true);
  EXPECT_LE(Body(health)["checked_ms_ago"].get<int>(), 1000);
  EXPECT_EQ(event_->Get("/ready")->status, 200);
  redis_.Pause();
  EXPECT_TRUE(Eventually([&] { return event_->Get("/health")->status == 503; }, kFiveSeconds));
  // Meanwhile checks are still answered at once, by the fail mode (open here).
  EXPECT_EQ(Outcome(PostCheck(*event_, R"({"user_id":"during"})")), "fail_open");
  EXPECT_EQ(event_->Get("/ready")->status, 200);  // FAIL_MODE=open: it answers as configured
  redis_.Resume();
  EXPECT_TRUE(Eventually([&] { return event_->Get("/health")->status == 200; }, kFiveSeconds));
}

TEST_F(EventLoopTest, TheEventPortIsThisProcesssAlone) {
  RedisServer other_redis;
  const std::string dir = MakeTempDir("event-port");
  ChildProcess second({BinaryPath("limiter")},
                      {{"REDIS_URL", other_redis.url()},
                       {"LIMITER_PORT", std::to_string(FreePort())},
                       {"GRPC_PORT", "0"},
                       {"LIMITER_EVENT_PORT", std::to_string(event_port_)},
                       {"KAFKA_BROKERS", kNoBroker},
                       {"KAFKA_STARTUP_WAIT_MS", "0"}},
                      dir + "/second.log");
  const auto code = second.WaitExit(std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value()) << "a second limiter bound the same event port";
  EXPECT_EQ(*code, 1);
  EXPECT_NE(second.LogTail().find("LIMITER_EVENT_PORT"), std::string::npos) << second.LogTail();
}

}  // namespace
}  // namespace rl::testing
