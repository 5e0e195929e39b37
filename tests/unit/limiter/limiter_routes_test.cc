// The limiter's whole route table called in-process through RouteTable::Serve, as cpp-httplib
// calls it once mounted, with no server: routing, the operator's routes and the admin endpoints.
#include "limiter/front/limiter_routes.h"

#include <gtest/gtest.h>

#include "limiter/front/decision_events.h"
#include "limiter/front/descriptor_stats.h"
#include "tests/support/active_policy.h"
#include "tests/support/memory_decision_store.h"
#include "tests/support/recording_event_publisher.h"

namespace rl::limiter {
namespace {

using nlohmann::json;

constexpr char kTwoPerMinute[] = R"(
version: v7
rules:
  - {name: per-minute, algorithm: fixed_window, limit: 2, window: 60s}
api_keys:
  key-alice: {user: alice, tier: default}
)";

class LimiterRoutesTest : public ::testing::Test {
 protected:
  common::HttpAnswer Serve(std::string_view method, const std::string& path,
                           const std::string& body = "", const std::string& authorization = "",
                           std::vector<std::pair<std::string_view, std::string_view>> query = {}) {
    body_ = body;  // the server's buffer, alive while the handler runs
    common::HttpAnswer answer;
    routes_.Serve(method, path,
                  {.body = body_,
                   .content_type = "application/json",
                   .authorization = authorization,
                   .query = std::move(query)},
                  answer);
    return answer;
  }
  static json Body(const common::HttpAnswer& a) { return json::parse(a.body); }
  common::RouteTable Routes(const std::string& admin_token) {
    api_.admin_token = admin_token;
    return LimiterRoutes(api_);
  }

  common::ManualClock clock_{1'700'000'040'000};
  MemoryDecisionStore store_{clock_};
  common::MetricsRegistry metrics_;
  common::RecordingEventPublisher publisher_;
  PublishedDecisionEvents events_{publisher_};
  PolicyHolder policies_{ActivePolicyFromYaml(kTwoPerMinute)};
  DecisionService service_{store_, store_, events_, clock_, metrics_, policies_, {}};
  DescriptorStats stats_{metrics_, clock_};
  RlsService rls_{service_, stats_, clock_, {}};
  int health_asked_ = 0;
  LimiterApi api_{service_,
                  rls_,
                  store_,
                  store_,
                  [this] {
                    ++health_asked_;
                    return HealthReport{503, {{"status", "unavailable"}}};
                  },
                  [] { return HealthReport{200, {{"ready", true}}}; },
                  metrics_,
                  clock_,
                  "",
                  ""};
  common::RouteTable routes_ = Routes("admin-secret");
  std::string body_;
};

TEST_F(LimiterRoutesTest, UnknownPathsAre404AndOtherMethodsOfAKnownPath405WithAllow) {
  const auto missing = Serve("GET", "/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Body(missing)["error"]["code"], "not_found");
  const auto wrong_method = Serve("POST", "/config");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.HeaderValue("Allow"), "GET, HEAD");
  EXPECT_EQ(Body(wrong_method)["error"]["code"], "method_not_allowed");
  EXPECT_EQ(Serve("GET", "/check").HeaderValue("Allow"), "POST");
  EXPECT_EQ(Serve("PUT", "/limits/alice").HeaderValue("Allow"), "GET, HEAD, DELETE");
}

TEST_F(LimiterRoutesTest, OperatorRoutesAnswerFromTheirSources) {
  const auto health = Serve("GET", "/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(Body(health)["status"], "unavailable");
  EXPECT_EQ(health_asked_, 1);
  EXPECT_EQ(Serve("GET", "/ready").status, 200);
  const auto config = Serve("GET", "/config");
  EXPECT_EQ(Body(config)["version"], "v7");
  EXPECT_EQ(Body(config)["api_keys"], 1);  // counted, never listed
  EXPECT_EQ(config.body.find("key-alice"), std::string::npos);
  EXPECT_EQ(Serve("GET", "/live").status, 200);
  ASSERT_EQ(Serve("POST", "/check", R"({"user_id":"u"})").status, 200);
  const auto metrics = Serve("GET", "/metrics");
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4");
  EXPECT_NE(metrics.body.find("rl_decisions_total{outcome=\"allowed\"} 1"), std::string::npos);
}

TEST_F(LimiterRoutesTest, AdminRoutesNeedTheTokenAndAreOffWithoutOne) {
  EXPECT_EQ(Serve("GET", "/limits/alice").status, 401);
  EXPECT_EQ(Serve("GET", "/limits/alice").HeaderValue("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Serve("GET", "/limits/alice", "", "Bearer wrong").status, 401);
  routes_ = Routes("");
  const auto off = Serve("GET", "/limits/alice", "", "Bearer admin-secret");
  EXPECT_EQ(off.status, 403);
  EXPECT_EQ(Body(off)["error"]["code"], "forbidden");
}

TEST_F(LimiterRoutesTest, AdminRoutesInspectAndResetTheKeysACheckWouldUse) {
  constexpr char kAuth[] = "Bearer admin-secret";
  ASSERT_EQ(Serve("POST", "/check", R"({"user_id":"alice"})").status, 200);
  ASSERT_EQ(Serve("POST", "/check", R"({"api_key":"key-alice"})").status, 200);
  ASSERT_EQ(Serve("POST", "/check", R"({"user_id":"alice"})").status, 429);

  const auto inspected = Serve("GET", "/limits/alice", "", kAuth);
  ASSERT_EQ(inspected.status, 200) << inspected.body;
  const json body = Body(inspected);
  EXPECT_EQ(body["user_id"], "alice");
  ASSERT_EQ(body["rules"].size(), 1u);
  EXPECT_EQ(body["rules"][0]["rule"], "per-minute");
  EXPECT_NE(body["rules"][0]["state"]["type"], "none");  // the bucket the checks charged
  // The same user reached through its API key, resolved as POST /check resolves it.
  const auto by_key = Serve("GET", "/limits/alice", "", kAuth, {{"api_key", "key-alice"}});
  EXPECT_EQ(Body(by_key)["rules"][0]["key"], body["rules"][0]["key"]);
  EXPECT_EQ(Serve("GET", "/limits/alice", "", kAuth, {{"api_key", "key-nobody"}}).status, 401);
  EXPECT_EQ(Serve("GET", "/limits/alice", "", kAuth, {{"action", "bad action!"}}).status, 400);

  const auto reset = Serve("DELETE", "/limits/alice", "", kAuth);
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_GE(Body(reset)["deleted_keys"], 1);
  EXPECT_EQ(Serve("POST", "/check", R"({"user_id":"alice"})").status, 200);  // a full bucket
}

}  // namespace
}  // namespace rl::limiter
