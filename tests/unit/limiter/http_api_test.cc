#include "http_api.h"

#include <gtest/gtest.h>

#include <map>

namespace rl::limiter {
namespace {

std::map<std::string, std::string> AsMap(const Headers& headers) {
  return {headers.begin(), headers.end()};
}

CheckResult Decided(bool allowed) {
  CheckResult r;
  r.outcome = allowed ? events::v1::OUTCOME_ALLOWED : events::v1::OUTCOME_BLOCKED;
  r.allowed = allowed;
  r.rule = "default";
  r.limit = 10;
  r.remaining = allowed ? 7 : 0;
  r.reset_ms = 2001;
  r.retry_after_ms = allowed ? 0 : 1;
  r.window_s = 20;
  r.http_status = allowed ? 200 : 429;
  r.policies = {{"default", 10, 20}, {"daily", 1000, 86400}};
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
  r.outcome = events::v1::OUTCOME_FAIL_CLOSED;
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
