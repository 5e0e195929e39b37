// The gateway's event-driven port (GATEWAY_EVENT_PORT): POST /check, /check/batch and /api
// forwarded from event loops over keep-alive connections of their own, to real limiters (on their
// event ports) with a real Redis and Kafka: the same answers as the threaded port, failover to
// the next limiter, the fail mode when none answers, and connections kept and reused.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/support/support.h"

namespace rl::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class GatewayEventTest : public ::testing::Test {
 protected:
  // A limiter whose event port is where the gateway sends its checks.
  struct Limiter {
    std::unique_ptr<ServiceProcess> process;
    int event_port = 0;
  };
  Limiter StartEventLimiter() {
    Limiter limiter;
    limiter.event_port = FreePort();
    limiter.process =
        StartLimiter(redis_, SharedKafka().bootstrap(), topic_,
                     {{"LIMITER_EVENT_PORT", std::to_string(limiter.event_port)},
                      {"LIMITER_THREADS", "2"}});
    return limiter;
  }
  void StartGateway(const std::vector<const Limiter*>& limiters, Env extra = {}) {
    std::string urls;
    for (const auto* l : limiters) {
      urls += (urls.empty() ? "" : ",") + std::string("http://127.0.0.1:") +
              std::to_string(l->event_port);
    }
    gateway_event_port_ = FreePort();
    Env env = {{"LIMITER_URLS", urls},
               {"ANALYTICS_REDIS_URL", redis_.url()},
               {"KAFKA_BROKERS", SharedKafka().bootstrap()},
               {"KAFKA_TOPIC", topic_},
               {"GATEWAY_EVENT_PORT", std::to_string(gateway_event_port_)},
               {"GATEWAY_THREADS", "2"}};
    for (auto& [k, v] : extra) env[k] = v;
    gateway_ = std::make_unique<ServiceProcess>("gateway", "GATEWAY_PORT", env);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", gateway_event_port_);
    client_->set_read_timeout(5, 0);
  }
  static json Body(const httplib::Result& res) { return json::parse(res->body); }

  RedisServer redis_;
  const std::string topic_ = std::string("rl.gwevent.") +
                             ::testing::UnitTest::GetInstance()->current_test_info()->name();
  int gateway_event_port_ = 0;
  std::unique_ptr<ServiceProcess> gateway_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(GatewayEventTest, ChecksBatchesAndApiGetTheLimitersAnswersHeadersAndRequestIds) {
  Limiter limiter = StartEventLimiter();  // a bucket of 5
  StartGateway({&limiter});
  for (int remaining : {4, 3}) {
    auto res = client_->Post("/check", {{"X-Request-Id", "gw-event-1"}}, R"({"user_id":"ge"})",
                             "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(Body(res)["remaining"], remaining);
    EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), std::to_string(remaining));
    EXPECT_FALSE(res->get_header_value("RateLimit-Policy").empty());
    EXPECT_EQ(res->get_header_value("X-Request-Id"), "gw-event-1");
  }
  auto batch = client_->Post(
      "/check/batch", R"({"checks":[{"user_id":"ge"},{"user_id":"ge","cost":9},{"user_id":7}]})",
      "application/json");
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 200) << batch->body;
  const json results = Body(batch)["results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["status"], 200);
  EXPECT_EQ(results[1]["status"], 400);  // above the bucket: a client error
  EXPECT_EQ(results[2]["status"], 400);
  // POST /api: checked for its user as action "api", 429 with the decision once over.
  int last = 0;
  for (int i = 0; i < 6; ++i) {
    auto api = client_->Post("/api", {{"X-User-Id", "api-user"}}, "{}", "application/json");
    ASSERT_TRUE(api);
    last = api->status;
    if (i < 5) EXPECT_EQ(api->status, 200) << api->body;
  }
  EXPECT_EQ(last, 429);
  // Bad input is refused by the gateway itself, as on its threaded port.
  EXPECT_EQ(client_->Post("/check", R"({"user_id":7})", "application/json")->status, 400);
  EXPECT_EQ(client_->Post("/check", R"({"user_id":"u"})", "text/plain")->status, 415);
  EXPECT_EQ(client_->Get("/check")->status, 405);
  EXPECT_EQ(client_->Get("/live")->status, 200);
}

TEST_F(GatewayEventTest, AKilledLimiterIsFailedOverThenNoneAnswersTheFailMode) {
  Limiter a = StartEventLimiter();
  Limiter b = StartEventLimiter();
  StartGateway({&a, &b}, {{"FAIL_MODE", "closed"}});
  ASSERT_EQ(PostCheck(*client_, R"({"user_id":"fo-0"})")->status, 200);
  a.process->process().Signal(SIGKILL);
  a.process->process().WaitExit(10s);
  for (int i = 1; i <= 6; ++i) {  // new users: each has a bucket of 5 on the limiter left
    auto res = PostCheck(*client_, R"({"user_id":"fo-)" + std::to_string(i) + R"("})");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << "the next limiter must answer: " << res->body;
  }
  auto threaded = gateway_->Client();  // its /metrics: one registry for both ports
  EXPECT_GE(MetricValue(*threaded, "rl_gateway_limiter_failures_total{limiter=\"http://127.0.0.1:" +
                                       std::to_string(a.event_port) + "\"}"),
            1);
  b.process->process().Signal(SIGKILL);
  b.process->process().WaitExit(10s);
  auto res = PostCheck(*client_, R"({"user_id":"fo-9"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(Body(res)["outcome"], "fail_closed");
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_GE(MetricValue(*threaded, "rl_gateway_fail_mode_total{outcome=\"fail_closed\"}"), 1);
}

// The loops keep their connections to the limiter: a hundred checks in a row open a few, not a
// hundred.
TEST_F(GatewayEventTest, ConnectionsToTheLimiterAreKeptAndReused) {
  Limiter limiter = StartEventLimiter();
  StartGateway({&limiter});
  for (int i = 0; i < 100; ++i) {
    auto res = PostCheck(*client_, R"({"user_id":"reuse-)" + std::to_string(i % 20) + R"("})");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  auto limiter_metrics = limiter.process->Client();
  const double accepted =
      MetricValue(*limiter_metrics, "rl_event_loop_connections_accepted{loop=\"0\"}") +
      MetricValue(*limiter_metrics, "rl_event_loop_connections_accepted{loop=\"1\"}");
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 4);  // at most one per gateway loop, and the health checks' own
}

}  // namespace
}  // namespace rl::testing
