#include "limiter/front/limiter_routes.h"
#include "limiter/front/decision_events.h"

#include <gtest/gtest.h>

#include <map>

#include "proto-events/event_codec.h"

namespace rl::limiter {
namespace {

std::map<std::string, std::string> AsMap(const Headers& headers) {
  return {headers.begin(), headers.end()};
}

CheckResult Decided(bool allowed) {
  CheckResult r;
  r.verdict = allowed ? Verdict::kAllowed : Verdict::kBlocked;
  r.rule = "default";
  r.limit = 10;
  r.remaining = allowed ? 7 : 0;
  r.reset_ms = 2001;
  r.retry_after_ms = allowed ? 0 : 1;
  r.window_s = 20;
  r.policies = {{"default", 10, 20}, {"daily", 1000, 86400}};
  r.enforced = {r.rule, r.limit, r.remaining, r.reset_ms};
  return r;
}

TEST(RateLimitHeaders, AllowedAnswerCarriesPolicyAndQuota) {
  auto h = AsMap(RateLimitHeaders(Decided(true)));
  EXPECT_EQ(h["RateLimit-Policy"], "\"default\";q=10;w=20, \"daily\";q=1000;w=86400");
  EXPECT_EQ(h["RateLimit"], "\"default\";r=7;t=3");
  EXPECT_EQ(h["X-RateLimit-Limit"], "10");
  EXPECT_EQ(h["X-RateLimit-Remaining"], "7");
  EXPECT_EQ(h["X-RateLimit-Reset"], "3");
  EXPECT_EQ(h.count("Retry-After"), 0u);
}

TEST(RateLimitHeaders, BlockedAnswerRoundsRetryAfterUpToWholeSeconds) {
  auto h = AsMap(RateLimitHeaders(Decided(false)));
  EXPECT_EQ(h["Retry-After"], "1");
  EXPECT_EQ(h["X-RateLimit-Remaining"], "0");
}

TEST(RateLimitHeaders, FailClosedHasRetryAfterButNoLimitState) {
  CheckResult r;
  r.verdict = Verdict::kFailClosed;
  r.retry_after_ms = 1500;
  auto h = AsMap(RateLimitHeaders(r));
  EXPECT_EQ(h["Retry-After"], "2");
  EXPECT_EQ(h.count("RateLimit"), 0u);
  EXPECT_EQ(h.count("X-RateLimit-Limit"), 0u);
}

TEST(CheckResultJson, HasEveryFieldAsNumbersAndTheOutcomeName) {
  nlohmann::json body = CheckResultJson(Decided(false));
  EXPECT_EQ(body["allowed"], false);
  EXPECT_EQ(body["limit"], 10);
  EXPECT_EQ(body["remaining"], 0);
  EXPECT_EQ(body["reset_ms"], 2001);
  EXPECT_EQ(body["retry_after_ms"], 1);
  EXPECT_EQ(body["rule"], "default");
  EXPECT_EQ(body["outcome"], "blocked");
}

}  // namespace
}  // namespace rl::limiter

namespace rl::limiter {
namespace {

TEST(HttpStatusOf, MapsEveryVerdictTheDocumentedWay) {
  const std::map<Verdict, int> expected = {
      {Verdict::kAllowed, 200},        {Verdict::kShadowBlocked, 200}, {Verdict::kAllowlisted, 200},
      {Verdict::kFailOpen, 200},       {Verdict::kBlocked, 429},       {Verdict::kBanned, 403},
      {Verdict::kDenied, 403},         {Verdict::kFailClosed, 503},    {Verdict::kInvalid, 400},
      {Verdict::kUnauthenticated, 401}};
  ASSERT_EQ(expected.size(), kVerdictCount);
  for (const auto& [verdict, status] : expected) {
    EXPECT_EQ(HttpStatusOf(verdict, 403), status) << VerdictName(verdict);
    EXPECT_EQ(Admits(verdict), status == 200) << VerdictName(verdict);
  }
  EXPECT_EQ(HttpStatusOf(Verdict::kBanned, 429), 429);
}

TEST(Verdicts, DecisionsAreNamedAsTheirEventOutcomes) {
  for (size_t v = 0; v < kVerdictCount; ++v) {
    const auto verdict = static_cast<Verdict>(v);
    if (IsDecision(verdict)) {
      EXPECT_EQ(VerdictName(verdict), events::OutcomeName(EventOutcome(verdict)));
    } else {
      EXPECT_TRUE(verdict == Verdict::kInvalid || verdict == Verdict::kUnauthenticated);
    }
  }
}

TEST(CheckResultJson, RefusalsBeforeAnyDecisionAreErrorBodies) {
  CheckResult r;
  r.verdict = Verdict::kUnauthenticated;
  r.error_message = "unknown API key";
  EXPECT_EQ(
      CheckResultJson(r),
      nlohmann::json::parse(R"({"error":{"code":"unauthenticated","message":"unknown API key"}})"));
}

}  // namespace
}  // namespace rl::limiter
