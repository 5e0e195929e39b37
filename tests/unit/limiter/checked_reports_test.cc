// GET /health and /ready on the event port: answered from the last checks, never by running them.
#include "limiter/front/checked_reports.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rl::limiter {
namespace {

using nlohmann::json;

common::HttpAnswer Get(const common::RouteTable& routes, const std::string& path) {
  common::HttpAnswer answer;
  routes.Serve("GET", path, {}, answer);
  return answer;
}

TEST(CheckedReports, AnswersTheLastChecksWithTheirAgeAndNeverChecksOnARequest) {
  common::ManualClock clock;
  int checks = 0;
  int health_status = 200;
  CheckedReports reports(
      [&] {
        ++checks;
        return HealthReport{health_status, {{"status", health_status == 200 ? "ok" : "down"}}};
      },
      [&] { return HealthReport{200, {{"ready", true}}}; }, clock);
  common::RouteTable routes;
  reports.AddRoutes(routes);

  // Before the first check: not known yet.
  common::HttpAnswer starting = Get(routes, "/health");
  EXPECT_EQ(starting.status, 503);
  EXPECT_EQ(json::parse(starting.body)["status"], "starting");
  EXPECT_EQ(Get(routes, "/ready").status, 503);
  EXPECT_EQ(checks, 0);

  reports.Check();
  clock.AdvanceMs(120);
  common::HttpAnswer health = Get(routes, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(json::parse(health.body)["status"], "ok");
  EXPECT_EQ(json::parse(health.body)["checked_ms_ago"], 120);
  EXPECT_EQ(json::parse(Get(routes, "/ready").body)["ready"], true);
  EXPECT_EQ(checks, 1);  // the requests ran no check

  health_status = 503;
  reports.Check();
  EXPECT_EQ(Get(routes, "/health").status, 503);
  EXPECT_EQ(checks, 2);
}

}  // namespace
}  // namespace rl::limiter
