// The decision routes called in-process, as a server would call them, with no server at all.
#include "limiter/front/check_routes.h"

#include <gtest/gtest.h>

#include <variant>

#include "limiter/front/decision_events.h"
#include "limiter/front/descriptor_stats.h"
#include "tests/support/active_policy.h"
#include "tests/support/memory_decision_store.h"
#include "tests/support/recording_event_publisher.h"

namespace rl::limiter {
namespace {

using nlohmann::json;

constexpr char kOnePerMinute[] = R"(
ban_status: 403
rules:
  - {name: r, algorithm: fixed_window, limit: 1, window: 60s}
)";

constexpr char kEdge[] = R"(
domain: edge
descriptors:
  - key: path
    rate_limit: {unit: minute, requests_per_unit: 1}
)";

class CheckRoutesTest : public ::testing::Test {
 protected:
  // A route answering through its responder (/check, /check/batch) or at once (/json); with the
  // synchronous runner both answer before they return.
  using Answering = void (CheckRoutes::*)(const common::HttpRequestView&, common::HttpAnswer&);
  using Responding = void (CheckRoutes::*)(const common::HttpRequestView&, common::HttpResponder);
  common::HttpAnswer Call(std::variant<Answering, Responding> route, const std::string& body,
                          const std::string& content_type = "application/json",
                          const std::string& authorization = "",
                          const std::string& request_id = "") {
    body_ = body;  // the server's buffer, alive while the handler runs
    const common::HttpRequestView view{.body = body_,
                                       .content_type = content_type,
                                       .authorization = authorization,
                                       .request_id = request_id};
    common::HttpAnswer answer;
    if (auto* answering = std::get_if<Answering>(&route)) {
      ((*routes_).**answering)(view, answer);
    } else {
      bool answered = false;
      ((*routes_).*std::get<Responding>(route))(view, [&](common::HttpAnswer given) {
        answer = std::move(given);
        answered = true;
      });
      EXPECT_TRUE(answered) << "the synchronous runner answers before the route returns";
    }
    return answer;
  }
  static json Body(const common::HttpAnswer& a) { return json::parse(a.body); }
  uint64_t Rejected(const std::string& code) {
    return metrics_.AddCounter("rl_check_rejected_total", "", {{"code", code}}).Value();
  }
  void UseToken(const std::string& token) {
    routes_ = std::make_unique<CheckRoutes>(service_, rls_, metrics_, clock_, token);
  }

  common::ManualClock clock_{1'700'000'040'000};
  MemoryDecisionStore store_{clock_};
  common::MetricsRegistry metrics_;
  common::RecordingEventPublisher publisher_;
  PublishedDecisionEvents events_{publisher_};
  PolicyHolder policies_{ActivePolicyFromYaml(kOnePerMinute)};
  DecisionService service_{store_, store_, events_, clock_, metrics_, policies_, {}};
  DescriptorStats stats_{metrics_, clock_};
  RlsService rls_{service_, stats_, clock_, {}};
  std::unique_ptr<CheckRoutes> routes_ =
      std::make_unique<CheckRoutes>(service_, rls_, metrics_, clock_, "");
  std::string body_;
};

TEST_F(CheckRoutesTest, ACheckIsAnsweredWithItsVerdictsStatusHeadersAndRequestId) {
  const auto allowed = Call(&CheckRoutes::Check, R"({"user_id":"u1"})", "application/json", "",
                            "req-1");
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(Body(allowed)["outcome"], "allowed");
  EXPECT_EQ(allowed.HeaderValue("X-Request-Id"), "req-1");
  EXPECT_EQ(allowed.HeaderValue("X-RateLimit-Limit"), "1");
  const auto blocked = Call(&CheckRoutes::Check, R"({"user_id":"u1"})");
  EXPECT_EQ(blocked.status, 429);
  EXPECT_EQ(Body(blocked)["outcome"], "blocked");
  EXPECT_FALSE(blocked.HeaderValue("Retry-After").empty());
  EXPECT_EQ(blocked.HeaderValue("X-Request-Id").size(), 32u);  // none offered: a new one
  ASSERT_EQ(publisher_.events().size(), 2u);
  EXPECT_EQ(publisher_.events()[0].request_id(), "req-1");
}

TEST_F(CheckRoutesTest, BadBodiesAreRefusedBeforeAnyDecisionAndCounted) {
  EXPECT_EQ(Call(&CheckRoutes::Check, R"({"user_id":"u1"})", "text/plain").status, 415);
  EXPECT_EQ(Call(&CheckRoutes::Check, std::string(kMaxCheckBodyBytes + 1, ' ')).status, 413);
  const auto invalid = Call(&CheckRoutes::Check, R"({"user_id":7})");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(Body(invalid)["error"]["code"], "invalid_argument");
  EXPECT_EQ(Call(&CheckRoutes::Json, "not json").status, 400);
  EXPECT_EQ(Rejected("415"), 1u);
  EXPECT_EQ(Rejected("413"), 1u);
  EXPECT_EQ(Rejected("400"), 2u);
  EXPECT_EQ(store_.decisions(), 0);
  EXPECT_TRUE(publisher_.events().empty());
}

TEST_F(CheckRoutesTest, TheCheckTokenIsRequiredWhenSet) {
  UseToken("s3cret");
  const auto refused = Call(&CheckRoutes::Check, R"({"user_id":"u1"})");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.HeaderValue("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Call(&CheckRoutes::CheckBatch, R"({"checks":[{"user_id":"u1"}]})", "application/json",
                 "Bearer wrong")
                .status,
            401);
  EXPECT_EQ(store_.decisions(), 0);
  EXPECT_EQ(
      Call(&CheckRoutes::Check, R"({"user_id":"u1"})", "application/json", "Bearer s3cret").status,
      200);
}

TEST_F(CheckRoutesTest, ABatchAnswersEachCheckWithItsOwnStatusABadOneAnErrorOfItsOwn) {
  const auto answer =
      Call(&CheckRoutes::CheckBatch,
           R"({"checks":[{"user_id":"a"},{"user_id":"a"},{"user_id":""},{"user_id":"b"}]})");
  ASSERT_EQ(answer.status, 200);
  const json results = Body(answer)["results"];
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0]["status"], 200);
  EXPECT_EQ(results[1]["status"], 429);
  EXPECT_EQ(results[2]["status"], 400);
  EXPECT_EQ(results[2]["error"]["code"], "invalid_argument");
  EXPECT_EQ(results[3]["status"], 200);
  EXPECT_EQ(publisher_.events().size(), 3u);
}

TEST_F(CheckRoutesTest, JsonIsTheReferencesShouldRateLimitOverHttp) {
  policies_.Replace(ActivePolicyFromYaml(kEdge));
  const std::string request =
      R"({"domain":"edge","descriptors":[{"entries":[{"key":"path","value":"/a"}]}]})";
  const auto ok = Call(&CheckRoutes::Json, request);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(Body(ok)["overallCode"], "OK");
  const auto over = Call(&CheckRoutes::Json, request);
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(Body(over)["overallCode"], "OVER_LIMIT");
  EXPECT_EQ(Body(over)["statuses"][0]["currentLimit"]["unit"], "MINUTE");
  EXPECT_EQ(Call(&CheckRoutes::Json, R"({"domain":""})").status, 400);  // no domain
}

}  // namespace
}  // namespace rl::limiter
