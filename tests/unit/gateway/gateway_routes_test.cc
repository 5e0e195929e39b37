// The gateway's whole route table called in-process through RouteTable::Serve, as cpp-httplib
// calls it once mounted, with no server: forwarding, the fail mode, /api, the analytics
// endpoints' validation and the operator's routes, against a fake set of limiters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/gateway_api.h"
#include "tests/support/recording_event_publisher.h"

namespace rl::gateway {
namespace {

using nlohmann::json;

// Limiters that answer what the test says, and remember what they were sent.
class FakeLimiters final : public LimiterBackend {
 public:
  void Forward(const std::string& path, const std::string& body, const std::string&,
               const std::string& request_id, Answered done) override {
    sent.push_back({path, body, request_id});
    done(answer);
  }
  std::vector<std::pair<std::string, bool>> Health() override { return {{"http://l1", up}}; }
  size_t UpCount() const override { return up ? 1 : 0; }

  struct Sent {
    std::string path, body, request_id;
  };
  std::optional<LimiterAnswer> answer;  // nullopt: no limiter answers
  bool up = true;
  std::vector<Sent> sent;
};

class GatewayRoutesTest : public ::testing::Test {
 protected:
  common::HttpAnswer Serve(std::string_view method, const std::string& path,
                           const std::string& body = "",
                           std::vector<std::pair<std::string_view, std::string_view>> query = {},
                           std::vector<std::pair<std::string_view, std::string_view>> headers =
                               {}) {
    body_ = body;  // the server's buffer, alive while the handler runs
    common::HttpAnswer answer;
    routes_.Serve(method, path,
                  {.body = body_,
                   .content_type = "application/json",
                   .request_id = "req-1",
                   .query = std::move(query),
                   .headers = std::move(headers),
                   .remote_address = "192.0.2.10"},
                  answer);
    return answer;
  }
  static json Body(const common::HttpAnswer& a) { return json::parse(a.body); }

  common::ManualClock clock_;
  common::MetricsRegistry metrics_;
  FakeLimiters limiters_;
  // Analytics on a Redis nobody listens on: every query fails, fast.
  common::RedisPool redis_{{.endpoint = {.host = "127.0.0.1", .port = 1}, .timeout_ms = 100}};
  analytics::AnalyticsQuery query_{redis_, clock_, 60};
  common::RecordingEventPublisher publisher_;
  FailModeEvents fail_mode_events_{publisher_, "gw-1", false, 1500, clock_};
  GatewayDeps deps_{limiters_,
                    query_,
                    [](int64_t* latency_us) {
                      *latency_us = 2000;
                      return common::Status::Ok();
                    },
                    metrics_,
                    {.fail_open = false, .fail_closed_retry_after_ms = 1500},
                    &fail_mode_events_};
  common::RouteTable routes_ = GatewayRoutes(deps_);
  std::string body_;
};

TEST_F(GatewayRoutesTest, ACheckIsForwardedWithItsRequestIdAndTheLimitersAnswerRelayed) {
  limiters_.answer = LimiterAnswer{
      429, R"({"allowed":false})", {{"Retry-After", "3"}, {"X-Not-Forwarded", "x"}}};
  const auto answer = Serve("POST", "/check", R"({"user_id":"u1"})");
  EXPECT_EQ(answer.status, 429);
  EXPECT_EQ(answer.body, R"({"allowed":false})");
  EXPECT_EQ(answer.HeaderValue("Retry-After"), "3");
  EXPECT_EQ(answer.HeaderValue("X-Not-Forwarded"), "");
  EXPECT_EQ(answer.HeaderValue("X-Request-Id"), "req-1");
  ASSERT_EQ(limiters_.sent.size(), 1u);
  EXPECT_EQ(limiters_.sent[0].path, "/check");
  EXPECT_EQ(limiters_.sent[0].request_id, "req-1");
}

TEST_F(GatewayRoutesTest, BadInputIsRefusedHereAndNeverForwardedNorAnsweredByTheFailMode) {
  EXPECT_EQ(Serve("POST", "/check", R"({"user_id":""})").status, 400);
  EXPECT_EQ(Serve("POST", "/check", std::string(5000, 'x')).status, 413);
  EXPECT_EQ(Serve("POST", "/check/batch", R"({"checks":"no"})").status, 400);
  EXPECT_EQ(Serve("POST", "/api", std::string(5000, ' ')).status, 413);
  EXPECT_TRUE(limiters_.sent.empty());
  EXPECT_TRUE(publisher_.events().empty());
}

TEST_F(GatewayRoutesTest, NoLimiterAnsweringGetsTheFailModeCountedAndPublished) {
  const auto one = Serve("POST", "/check", R"({"user_id":"u1"})");
  EXPECT_EQ(one.status, 503);
  EXPECT_EQ(Body(one)["outcome"], "fail_closed");
  EXPECT_EQ(one.HeaderValue("Retry-After"), "2");  // 1500 ms, rounded up
  const auto batch =
      Serve("POST", "/check/batch", R"({"checks":[{"user_id":"u2"},{"user_id":""}]})");
  EXPECT_EQ(batch.status, 200);
  EXPECT_EQ(Body(batch)["results"][0]["status"], 503);
  EXPECT_EQ(Body(batch)["results"][1]["status"], 400);
  ASSERT_EQ(publisher_.events().size(), 2u);  // u1 and u2; the bad item is no decision
  EXPECT_EQ(publisher_.events()[1].user_id(), "u2");
  EXPECT_EQ(publisher_.events()[1].request_id(), "req-1");
  EXPECT_EQ(
      metrics_.AddCounter("rl_gateway_fail_mode_total", "", {{"outcome", "fail_closed"}}).Value(),
      2u);
}

TEST_F(GatewayRoutesTest, ApiChecksTheCallersUserAndWrapsTheDecision) {
  limiters_.answer = LimiterAnswer{200, R"({"allowed":true})", {{"RateLimit", "\"r\";r=4;t=9"}}};
  const auto allowed = Serve("POST", "/api", "", {}, {{"X-User-Id", "alice"}});
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(Body(allowed)["ok"], true);
  EXPECT_EQ(Body(allowed)["rate_limit"]["allowed"], true);
  EXPECT_EQ(allowed.HeaderValue("RateLimit"), "\"r\";r=4;t=9");
  EXPECT_EQ(json::parse(limiters_.sent.back().body)["user_id"], "alice");
  limiters_.answer = LimiterAnswer{429, R"({"allowed":false})", {}};
  const auto blocked = Serve("POST", "/api");  // no user named: the caller's address
  EXPECT_EQ(blocked.status, 429);
  EXPECT_EQ(Body(blocked)["error"]["code"], "rate_limited");
  EXPECT_EQ(json::parse(limiters_.sent.back().body)["user_id"], "ip:192.0.2.10");
}

TEST_F(GatewayRoutesTest, AProxysSubrequestIsCheckedAndARefusalMappedForNginx) {
  const std::vector<std::pair<std::string_view, std::string_view>> nginx = {
      {"X-Original-Method", "POST"}, {"X-Original-URI", "/login"}, {"X-User-Id", "bob"}};
  limiters_.answer = LimiterAnswer{200, R"({"allowed":true})", {{"RateLimit", "x"}}};
  auto allowed = Serve("GET", "/proxy/check", "", {}, nginx);
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.HeaderValue("RateLimit"), "x");
  ASSERT_EQ(limiters_.sent.size(), 1u);
  EXPECT_EQ(limiters_.sent[0].path, "/check");
  EXPECT_EQ(json::parse(limiters_.sent[0].body),
            json({{"action", "http"}, {"cost", 1}, {"user_id", "bob"}}));
  limiters_.answer = LimiterAnswer{429, R"({"allowed":false})", {{"Retry-After", "7"}}};
  auto blocked = Serve("GET", "/proxy/check", "", {}, nginx);
  EXPECT_EQ(blocked.status, 429);  // Caddy's forward_auth hands it to the client as it is
  EXPECT_EQ(blocked.HeaderValue("Retry-After"), "7");
  auto for_nginx = Serve("GET", "/proxy/check", "", {{"refused_status", "401"}}, nginx);
  EXPECT_EQ(for_nginx.status, 401);
  EXPECT_EQ(for_nginx.HeaderValue("X-RateLimit-Status"), "429");
  EXPECT_EQ(for_nginx.HeaderValue("Retry-After"), "7");
  // No limiter: the fail mode (closed here), mapped the same way, and published.
  limiters_.answer.reset();
  auto failed = Serve("GET", "/proxy/check", "", {{"refused_status", "403"}}, nginx);
  EXPECT_EQ(failed.status, 403);
  EXPECT_EQ(failed.HeaderValue("X-RateLimit-Status"), "503");
  EXPECT_EQ(publisher_.events().size(), 1u);
  // Bad input: 400, never forwarded.
  const size_t sent = limiters_.sent.size();
  EXPECT_EQ(Serve("GET", "/proxy/check").status, 400);
  EXPECT_EQ(Serve("GET", "/proxy/check", "", {{"refused_status", "500"}}, nginx).status, 400);
  EXPECT_EQ(limiters_.sent.size(), sent);
}

TEST_F(GatewayRoutesTest, AnalyticsParametersAreValidatedAndAnUnreachableStoreIs503) {
  EXPECT_EQ(Serve("GET", "/analytics/top", "", {{"by", "nothing"}}).status, 400);
  EXPECT_EQ(Serve("GET", "/analytics/top", "", {{"limit", "0"}}).status, 400);
  EXPECT_EQ(Serve("GET", "/analytics/series", "", {{"seconds", "12x"}}).status, 400);
  EXPECT_EQ(Serve("GET", "/analytics/users/" + std::string(129, 'u')).status, 400);
  EXPECT_EQ(Serve("GET", "/analytics/users/tab\tuser").status, 400);
  const auto down = Serve("GET", "/analytics/users/top");  // a user named like an endpoint
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(Body(down)["error"]["code"], "unavailable");
  EXPECT_EQ(Serve("GET", "/analytics/top").status, 503);
}

TEST_F(GatewayRoutesTest, OperatorRoutesAndTheDashboardAnswerWithoutAServer) {
  const auto health = Serve("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health)["status"], "ok");
  EXPECT_EQ(Body(health)["analytics_redis"]["latency_ms"], 2.0);
  limiters_.up = false;
  EXPECT_EQ(Serve("GET", "/health").status, 503);
  EXPECT_EQ(Serve("GET", "/ready").status, 503);  // FAIL_MODE=closed and no limiter up
  const auto page = Serve("GET", "/dashboard");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_FALSE(page.HeaderValue("Content-Security-Policy").empty());
  EXPECT_EQ(Serve("GET", "/dashboard/assets/none.js").status, 404);
  EXPECT_EQ(Serve("GET", "/dashboard/assets/uPlot.min.css").status, 200);
  EXPECT_EQ(Serve("DELETE", "/analytics").HeaderValue("Allow"), "GET, HEAD");
}

}  // namespace
}  // namespace rl::gateway
