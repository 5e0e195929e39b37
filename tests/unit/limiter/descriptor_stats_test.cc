// The reference service's per-descriptor statistics: which hits count where, the descriptor label
// (config path, or the request's values with detailed_metric), and bounded memory.
#include "limiter/front/descriptor_stats.h"

#include <gtest/gtest.h>

#include "limiter/core/descriptor_config.h"

namespace rl::limiter {
namespace {

CheckResult Result(Verdict verdict, int64_t limit, int64_t remaining) {
  CheckResult r;
  r.verdict = verdict;
  r.limit = limit;
  r.remaining = remaining;
  return r;
}

TEST(DescriptorStats, HitsCountAsTheReferenceCountsThem) {
  // 10 a unit: the near-limit threshold is 8 used; the hits past it count as near the limit.
  DescriptorHits early = CountHits(Result(Verdict::kAllowed, 10, 5), 2);  // 5 used
  EXPECT_EQ(early.total, 2);
  EXPECT_EQ(early.within_limit, 2);
  EXPECT_EQ(early.near_limit, 0);
  DescriptorHits crossing = CountHits(Result(Verdict::kAllowed, 10, 1), 3);  // 6 -> 9 used
  EXPECT_EQ(crossing.near_limit, 1);
  DescriptorHits last = CountHits(Result(Verdict::kAllowed, 10, 0), 1);
  EXPECT_EQ(last.near_limit, 1);
  DescriptorHits over = CountHits(Result(Verdict::kBlocked, 10, 0), 4);
  EXPECT_EQ(over.over_limit, 4);
  EXPECT_EQ(over.within_limit, 0);
  DescriptorHits shadow = CountHits(Result(Verdict::kShadowBlocked, 10, 0), 1);
  EXPECT_EQ(shadow.over_limit, 1);
  EXPECT_EQ(shadow.shadow_mode, 1);
  DescriptorHits failed = CountHits(Result(Verdict::kFailOpen, 0, 0), 1);
  EXPECT_EQ(failed.total, 1);
  EXPECT_EQ(failed.within_limit + failed.over_limit, 0);
}

TEST(DescriptorStats, TheLabelIsTheConfigPathOrWithDetailedMetricTheRequestsValues) {
  auto domain = ParseDescriptorConfig(R"(
domain: d
descriptors:
  - key: key1
    value: value1
    descriptors:
      - key: subkey1
        rate_limit: {unit: second, requests_per_unit: 5}
  - key: key2
    detailed_metric: true
    rate_limit: {unit: second, requests_per_unit: 5}
)",
                                      "d.yaml");
  ASSERT_TRUE(domain.ok()) << domain.status().message();
  const DescriptorEntries nested = {{"key1", "value1"}, {"subkey1", "subvalue1"}};
  const DescriptorNode* a = MatchDescriptor(domain.value(), nested);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(DescriptorStatKey(*a, nested), "key1_value1.subkey1");
  const DescriptorEntries detailed = {{"key2", "abc"}};
  const DescriptorNode* b = MatchDescriptor(domain.value(), detailed);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(DescriptorStatKey(*b, detailed), "key2_abc");
}

TEST(DescriptorStats, SeriesAreBoundedAndLongLabelsShortened) {
  common::MetricsRegistry metrics;
  common::ManualClock clock;
  DescriptorStats stats(metrics, clock, 2);
  const CheckResult allowed = Result(Verdict::kAllowed, 10, 9);
  stats.Record("d", "a", allowed, 1);
  stats.Record("d", std::string(5000, 'x'), allowed, 1);
  stats.Record("d", "c", allowed, 1);
  stats.Record("d", "e", allowed, 2);
  const std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("rl_descriptor_hits_total{descriptor=\"a\",domain=\"d\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rl_descriptor_hits_total{descriptor=\"_overflow\",domain=\"d\"} 3"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(std::string(300, 'x')), std::string::npos);  // shortened
  EXPECT_NE(text.find(std::string(200, 'x')), std::string::npos);
}

}  // namespace
}  // namespace rl::limiter
