// The workers as the dashboard and rlctl see them: the group's lag over every partition, whoever
// owns it, and "healthy" only when every worker says ok and the group was measured.
#include "gateway/worker_status.h"

#include <gtest/gtest.h>

namespace rl::gateway {
namespace {

using nlohmann::json;

WorkerStatus Worker(const std::string& status, json group, json partitions = json::array()) {
  WorkerStatus w;
  w.url = "http://w";
  w.ok = true;
  w.health = {{"status", status},
              {"assigned_partitions", partitions.size()},
              {"partitions", partitions},
              {"redis", {{"ok", true}}},
              {"group", group}};
  return w;
}

TEST(WorkersJson, TheGroupsLagCountsEveryPartitionAndAnUnownedOneIsUnhealthy) {
  const json group = {{"reachable", true}, {"total_lag", 7}, {"unowned", {3}}, {"stalled", json::array()}};
  json out = WorkersJson({Worker("degraded", group, {{{"partition", 0}, {"lag", 1}}}),
                          Worker("degraded", group)});
  EXPECT_EQ(out["total_lag"], 7);  // not the 1 the workers own
  EXPECT_EQ(out["unowned_partitions"], json({3}));
  EXPECT_FALSE(out["healthy"]);
  EXPECT_TRUE(out["group_measured"]);
  const json fine = {{"reachable", true}, {"total_lag", 0}, {"unowned", json::array()},
                     {"stalled", json::array()}};
  EXPECT_TRUE(WorkersJson({Worker("ok", fine), Worker("ok", fine)})["healthy"]);
}

TEST(WorkersJson, NoWorkerReachingTheBrokersIsNotHealthy) {
  const json unreachable = {{"reachable", false}, {"error", "kafka metadata: down"}};
  json out = WorkersJson({Worker("degraded", unreachable, {{{"partition", 1}, {"lag", 4}}})});
  EXPECT_FALSE(out["group_measured"]);
  EXPECT_FALSE(out["healthy"]);
  EXPECT_EQ(out["total_lag"], 4);  // what the workers own, for want of better
}

}  // namespace
}  // namespace rl::gateway
