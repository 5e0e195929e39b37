#include "common/base/metrics.h"

#include <gtest/gtest.h>

namespace rl::common {
namespace {

TEST(MetricsRegistry, RendersCountersWithLabelsOncePerFamily) {
  MetricsRegistry m;
  m.AddCounter("rl_decisions_total", "Answers", {{"outcome", "allowed"}}).Inc(3);
  m.AddCounter("rl_decisions_total", "Answers", {{"outcome", "blocked"}}).Inc();
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("# HELP rl_decisions_total Answers\n# TYPE rl_decisions_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("rl_decisions_total{outcome=\"allowed\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("rl_decisions_total{outcome=\"blocked\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("# TYPE rl_decisions_total", text.find("# TYPE rl_decisions_total") + 1),
            std::string::npos);
}

TEST(MetricsRegistry, SameNameAndLabelsIsTheSameCounter) {
  MetricsRegistry m;
  Counter& a = m.AddCounter("c", "h", {{"k", "v"}});
  Counter& b = m.AddCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsRegistry, RendersCumulativeHistogramBuckets) {
  MetricsRegistry m;
  Histogram& h = m.AddHistogram("lat_seconds", "Latency", {0.1, 1.0});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_sum 5.55\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, EscapesLabelValues) {
  MetricsRegistry m;
  m.AddGauge("g", "h", {{"name", "a\"b\\c\nd"}}).Set(-2);
  EXPECT_NE(m.RenderPrometheus().find("g{name=\"a\\\"b\\\\c\\nd\"} -2\n"), std::string::npos);
}

TEST(MetricsRegistry, GaugeFunctionsAreReadAtScrapeTime) {
  MetricsRegistry m;
  int value = 1;
  m.AddGaugeFn("queued", "h", {}, [&value] { return value; });
  value = 7;
  EXPECT_NE(m.RenderPrometheus().find("queued 7\n"), std::string::npos);
}

}  // namespace
}  // namespace rl::common
