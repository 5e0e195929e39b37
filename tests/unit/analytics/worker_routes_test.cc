// The worker's route table called in-process (RouteTable::Serve), with no server.
#include "analytics-worker/worker_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rl::analytics {
namespace {

using nlohmann::json;

class WorkerRoutesTest : public ::testing::Test {
 protected:
  json Health(int* status) {
    common::HttpAnswer answer;
    routes_.Serve("GET", "/health", {}, answer);
    *status = answer.status;
    return json::parse(answer.body);
  }

  WorkerHealth health_{.now_ms = 100'000, .group_lag_interval_ms = 1000,
                       .assigned_partitions = 2, .partition_lags = {{0, 5}, {3, 0}}};
  common::MetricsRegistry metrics_;
  common::RouteTable routes_ = WorkerRoutes([this] { return health_; }, metrics_);
};

TEST_F(WorkerRoutesTest, HealthIsOkOnlyWithRedisAndAFreshHealthyGroup) {
  int status = 0;
  json body = Health(&status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["status"], "degraded");  // the group was never measured
  EXPECT_EQ(body["group"]["error"], "not measured yet");
  EXPECT_EQ(body["assigned_partitions"], 2);
  ASSERT_EQ(body["partitions"].size(), 2u);
  EXPECT_EQ(body["partitions"][0]["lag"], 5);

  health_.group = GroupLag();
  health_.group->reachable = true;
  health_.group->state = "Stable";
  health_.group->measured_at_ms = 99'000;
  ASSERT_TRUE(health_.group->healthy());
  EXPECT_EQ(Health(&status)["status"], "ok");
  health_.group->measured_at_ms = 100'000 - 5'001;  // older than 3 intervals + 2 s
  body = Health(&status);
  EXPECT_EQ(body["status"], "degraded");
  EXPECT_EQ(body["group"]["error"], "measurement is stale");

  health_.redis = common::Status::Unavailable("connection refused");
  body = Health(&status);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(body["status"], "unavailable");
  EXPECT_EQ(body["redis"]["error"], "connection refused");
}

TEST_F(WorkerRoutesTest, MetricsAndLivenessAreServed) {
  common::HttpAnswer live;
  routes_.Serve("GET", "/live", {}, live);
  EXPECT_EQ(live.status, 200);
  common::HttpAnswer unknown;
  routes_.Serve("GET", "/check", {}, unknown);
  EXPECT_EQ(unknown.status, 404);
}

}  // namespace
}  // namespace rl::analytics
