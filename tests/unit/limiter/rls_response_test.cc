// RlsResponse answers field for field as envoyproxy/ratelimit does (src/service/ratelimit.go,
// src/limiter/base_limiter.go), whole answers compared (proto equality): the facts of its
// service tests, TestServiceWithCustomRatelimitHeaders and TestServiceWithDefaultRatelimitHeaders
// among them.
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/base/identifiers.h"
#include "limiter/front/rls_service.h"

namespace rl::limiter {
namespace {

// A decided descriptor: `limit` a `unit`, `remaining` left, `reset_ms` to its window's end.
CheckResult Decided(Verdict verdict, int64_t limit, RateLimitUnit unit, int64_t remaining,
                    int64_t reset_ms) {
  CheckResult result;
  result.verdict = verdict;
  result.rule = "descriptor.path";  // what events call it; never the answer's name
  result.limit = limit;
  result.unit = unit;
  result.remaining = remaining;
  result.reset_ms = reset_ms;
  result.policies.push_back(RuleSummary{.name = result.rule, .quota = limit});
  return result;
}

// No limit applies (no config matched, or a `replaces` took it away).
CheckResult NoLimit() { return CheckResult{}; }

// 2 s into a minute (and into an hour): the reference's test clock, 58 s before the minute ends.
constexpr int64_t kNowMs = 1'699'999'202'500;

RateLimitResponse Parse(const std::string& text) {
  RateLimitResponse response;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &response)) << text;
  return response;
}

void ExpectProtoEqual(const RateLimitResponse& expected, const RateLimitResponse& actual) {
  std::string difference;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&difference);
  EXPECT_TRUE(differ.Compare(expected, actual)) << difference << "\nactual:\n"
                                                << actual.DebugString();
}

TEST(RlsResponse, AnswersWithoutHeadersOrInventedNamesByDefault) {
  const RateLimitResponse response =
      RlsResponse({Decided(Verdict::kAllowed, 50, RateLimitUnit::kSecond, 49, 400), NoLimit()},
                  {RlsDescriptorFacts{}, RlsDescriptorFacts{}}, RlsHeaderOptions{}, kNowMs);
  ExpectProtoEqual(Parse(R"pb(
                     overall_code: OK
                     statuses {
                       code: OK
                       current_limit { requests_per_unit: 50 unit: SECOND }
                       limit_remaining: 49
                       duration_until_reset { seconds: 1 }
                     }
                     statuses { code: OK }
                   )pb"),
                   response);
}

TEST(RlsResponse, ANamedLimitIsAnsweredWithItsName) {
  const RateLimitResponse response = RlsResponse(
      {Decided(Verdict::kAllowed, 2, RateLimitUnit::kHour, 1, 3'599'001)},
      {RlsDescriptorFacts{.name = "login"}}, RlsHeaderOptions{}, kNowMs);
  ExpectProtoEqual(Parse(R"pb(
                     overall_code: OK
                     statuses {
                       code: OK
                       current_limit { name: "login" requests_per_unit: 2 unit: HOUR }
                       limit_remaining: 1
                       duration_until_reset { seconds: 3598 }
                     }
                   )pb"),
                   response);
}

TEST(RlsResponse, AnUnlimitedDescriptorHasTheLargestRemainingAndNoLimit) {
  CheckResult unlimited;
  unlimited.unlimited = true;
  const RateLimitResponse response =
      RlsResponse({unlimited}, {RlsDescriptorFacts{.unlimited = true}}, RlsHeaderOptions{}, kNowMs);
  ExpectProtoEqual(Parse(R"pb(
                     overall_code: OK
                     statuses { code: OK limit_remaining: 4294967295 }
                   )pb"),
                   response);
}

// TestServiceWithCustomRatelimitHeaders: 10 a minute over its limit beside a descriptor without
// a limit, 58 s before the minute ends.
TEST(RlsResponse, TheReferencesHeadersNameTheDescriptorOverItsLimit) {
  RlsHeaderOptions headers;
  headers.reference = true;
  headers.limit_header = "A-Ratelimit-Limit";
  headers.remaining_header = "A-Ratelimit-Remaining";
  headers.reset_header = "A-Ratelimit-Reset";
  const RateLimitResponse response =
      RlsResponse({Decided(Verdict::kBlocked, 10, RateLimitUnit::kMinute, 0, 57'300), NoLimit()},
                  {RlsDescriptorFacts{}, RlsDescriptorFacts{}}, headers, kNowMs);
  ExpectProtoEqual(Parse(R"pb(
                     overall_code: OVER_LIMIT
                     statuses {
                       code: OVER_LIMIT
                       current_limit { requests_per_unit: 10 unit: MINUTE }
                       limit_remaining: 0
                       duration_until_reset { seconds: 58 }
                     }
                     statuses { code: OK }
                     response_headers_to_add { key: "A-Ratelimit-Limit" value: "10" }
                     response_headers_to_add { key: "A-Ratelimit-Remaining" value: "0" }
                     response_headers_to_add { key: "A-Ratelimit-Reset" value: "58" }
                   )pb"),
                   response);
}

// Within every limit the headers speak for the one with the least left (the first of equals);
// the last one over its limit wins over any with less left.
TEST(RlsResponse, TheReferencesHeadersNameTheLeastLeftThenTheLastOverTheLimit) {
  RlsHeaderOptions headers;
  headers.reference = true;
  auto header_values = [](const RateLimitResponse& r) {
    std::vector<std::string> values;
    for (const auto& h : r.response_headers_to_add()) values.push_back(h.key() + "=" + h.value());
    return values;
  };
  const std::vector<RlsDescriptorFacts> three(3);
  EXPECT_EQ(header_values(RlsResponse(
                {Decided(Verdict::kAllowed, 10, RateLimitUnit::kSecond, 9, 1000),
                 Decided(Verdict::kAllowed, 1000, RateLimitUnit::kMinute, 8, 30'000),
                 Decided(Verdict::kAllowed, 100, RateLimitUnit::kHour, 8, 60'000)},
                three, headers, kNowMs)),
            (std::vector<std::string>{"RateLimit-Limit=1000", "RateLimit-Remaining=8",
                                      "RateLimit-Reset=58"}));
  EXPECT_EQ(header_values(RlsResponse(
                {Decided(Verdict::kBlocked, 10, RateLimitUnit::kSecond, 0, 1000),
                 Decided(Verdict::kAllowed, 5, RateLimitUnit::kMinute, 0, 30'000),
                 Decided(Verdict::kBlocked, 100, RateLimitUnit::kHour, 0, 60'000)},
                three, headers, kNowMs)),
            (std::vector<std::string>{"RateLimit-Limit=100", "RateLimit-Remaining=0",
                                      "RateLimit-Reset=3598"}));
}

TEST(RlsResponse, TheExtendedHeadersAreAnExtensionAfterTheReferences) {
  RlsHeaderOptions headers;
  headers.reference = true;
  headers.extended = true;
  CheckResult over = Decided(Verdict::kBlocked, 3, RateLimitUnit::kMinute, 0, 20'000);
  over.retry_after_ms = 20'000;
  over.enforced.rule = over.rule;
  const RateLimitResponse response = RlsResponse({over}, {RlsDescriptorFacts{}}, headers, kNowMs);
  ASSERT_GE(response.response_headers_to_add_size(), 4);
  EXPECT_EQ(response.response_headers_to_add(0).key(), "RateLimit-Limit");
  EXPECT_EQ(response.response_headers_to_add(2).key(), "RateLimit-Reset");
  bool retry_after = false;
  for (const auto& h : response.response_headers_to_add()) {
    retry_after = retry_after || h.key() == "Retry-After";
  }
  EXPECT_TRUE(retry_after);
}

// quota_mode (src/service/ratelimit.go): a quota descriptor over its limit says OVER_LIMIT, but
// the answer is OVER_LIMIT only when every quota group is over, or a hard limit is.
TEST(RlsResponse, QuotaDescriptorsRefuseOnlyWhenEveryGroupIsOver) {
  auto overall = [](std::vector<bool> over, std::vector<std::string> groups) {
    std::vector<CheckResult> results;
    std::vector<RlsDescriptorFacts> facts;
    for (size_t i = 0; i < over.size(); ++i) {
      results.push_back(Decided(over[i] ? Verdict::kBlocked : Verdict::kAllowed, 1,
                                RateLimitUnit::kMinute, 0, 1000));
      facts.push_back(RlsDescriptorFacts{.quota_group = groups[i]});
    }
    const RateLimitResponse r = RlsResponse(results, facts, {}, kNowMs);
    for (size_t i = 0; i < over.size(); ++i) {
      EXPECT_EQ(r.statuses(i).code(), over[i] ? RateLimitResponse::OVER_LIMIT
                                              : RateLimitResponse::OK);
    }
    return RateLimitResponse::Code_Name(r.overall_code());
  };
  EXPECT_EQ(overall({true, false}, {"a", "b"}), "OK");          // model b still has quota
  EXPECT_EQ(overall({true, true}, {"a", "b"}), "OVER_LIMIT");   // every group over
  EXPECT_EQ(overall({true, false}, {"a", "a"}), "OVER_LIMIT");  // one group: any over is over
  EXPECT_EQ(overall({false, true}, {"a", ""}), "OVER_LIMIT");   // a hard limit over
}

TEST(QuotaGroupKey, TheModelsEntriesElseAllOfThem) {
  EXPECT_EQ(QuotaGroupKey({{"tenant", "t1"}, {"backend_name", "b"}, {"model_name_override", "m"}}),
            "b|m");
  EXPECT_EQ(QuotaGroupKey({{"backend_name", "b"}}), "b|");
  EXPECT_EQ(QuotaGroupKey({{"tenant", "t1"}, {"route", "/x"}}), "tenant=t1;route=/x;");
}

TEST(IsHeaderName, AcceptsTokensOnly) {
  EXPECT_TRUE(common::IsHeaderName("RateLimit-Limit"));
  EXPECT_TRUE(common::IsHeaderName("x_custom.1!"));
  EXPECT_FALSE(common::IsHeaderName(""));
  EXPECT_FALSE(common::IsHeaderName("Rate Limit"));
  EXPECT_FALSE(common::IsHeaderName("Limit:"));
  EXPECT_FALSE(common::IsHeaderName("Limit\r\nX-Injected"));
  EXPECT_FALSE(common::IsHeaderName(std::string(257, 'a')));
}

}  // namespace
}  // namespace rl::limiter
