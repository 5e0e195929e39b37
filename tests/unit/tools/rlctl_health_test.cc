// rlctl health's verdict from the stack's answers, with no stack (JudgeHealth is pure).
#include "tools/rlctl/health_report.h"

#include <gtest/gtest.h>

namespace rl::rlctl {
namespace {

using nlohmann::json;

HealthAnswers Healthy() {
  HealthAnswers a;
  a.gateway_url = "http://gw";
  a.gateway = {200,
               {{"analytics_redis", {{"ok", true}}},
                {"limiters", json::array({{{"url", "http://l1"}, {"ok", true}}})}}};
  a.limiters = {Answer{200,
                       {{"redis", {{"ok", true}}}, {"kafka", {{"ok", true}, {"queued_events", 3}}}}}};
  a.workers = Answer{200,
                     {{"workers", json::array({{{"url", "http://w1"},
                                                {"ok", true},
                                                {"status", "ok"},
                                                {"assigned_partitions", 2},
                                                {"partitions", json::array({{{"lag", 4}}})}}})},
                      {"total_lag", 4},
                      {"unowned_partitions", json::array()},
                      {"stalled_partitions", json::array()}}};
  a.ledger = Answer{200, {{"limiters", json::array()}}};
  return a;
}

TEST(JudgeHealth, EveryPartHealthyIsHealthyWithARowEach) {
  const HealthVerdict v = JudgeHealth(Healthy());
  EXPECT_TRUE(v.healthy);
  EXPECT_EQ(v.report["healthy"], true);
  ASSERT_EQ(v.rows.size(), 5u);  // gateway, analytics redis, limiter, worker, consumer group
  EXPECT_EQ(v.rows[2][3], "redis ok, kafka ok, events queued 3");
  EXPECT_EQ(v.rows[3][3], "partitions 2, lag 4");
}

TEST(JudgeHealth, AnyUnhealthyPartMakesItUnhealthy) {
  HealthAnswers kafka_down = Healthy();
  kafka_down.limiters[0]->body["kafka"]["ok"] = false;
  EXPECT_FALSE(JudgeHealth(kafka_down).healthy);

  HealthAnswers degraded_worker = Healthy();
  degraded_worker.workers->body["workers"][0]["status"] = "degraded";
  EXPECT_FALSE(JudgeHealth(degraded_worker).healthy);

  HealthAnswers no_workers = Healthy();
  no_workers.workers.reset();
  no_workers.workers_error = "connection refused";
  const HealthVerdict v = JudgeHealth(no_workers);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.rows.back()[3], "connection refused");

  HealthAnswers unowned = Healthy();
  unowned.workers->body["unowned_partitions"] = json::array({3});
  EXPECT_FALSE(JudgeHealth(unowned).healthy);
}

TEST(JudgeHealth, AStaleLimiterRecordCountsForAnHourThenIsShownAsGone) {
  HealthAnswers stale = Healthy();
  stale.ledger->body["limiters"] = json::array(
      {{{"limiter_id", "lim-dead"}, {"state", "stale"}, {"record_age_ms", 60'000}}});
  HealthVerdict v = JudgeHealth(stale);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.rows.back()[2], "stale");
  stale.ledger->body["limiters"][0]["record_age_ms"] = kStaleCountsForMs;
  v = JudgeHealth(stale);
  EXPECT_TRUE(v.healthy);
  EXPECT_EQ(v.rows.back()[2], "gone");
}

}  // namespace
}  // namespace rl::rlctl
