// The consumer group's lag as a worker's health reports it: every partition, whoever owns it;
// partitions nobody owns, and those whose owner stopped, make it unhealthy.
#include "analytics-worker/group_lag.h"

#include <gtest/gtest.h>

#include "tests/support/memory_analytics_sink.h"

namespace rl::analytics {
namespace {

// A consumer-protocol MemberAssignment (version 0, one entry per topic, no user data).
std::string Assignment(const std::vector<std::pair<std::string, std::vector<int32_t>>>& topics) {
  std::string out;
  auto put = [&out](int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(0, 2);
  put(static_cast<int64_t>(topics.size()), 4);
  for (const auto& [topic, partitions] : topics) {
    put(static_cast<int64_t>(topic.size()), 2);
    out += topic;
    put(static_cast<int64_t>(partitions.size()), 4);
    for (int32_t p : partitions) put(p, 4);
  }
  put(-1, 4);  // null user data
  return out;
}

TEST(AssignedPartitions, ReadsTheTopicsPartitionsFromAMemberAssignment) {
  const std::string bytes = Assignment({{"other", {7}}, {"rl.decisions.v1", {0, 3, 5}}});
  EXPECT_EQ(common::AssignedPartitions(bytes, "rl.decisions.v1"), (std::vector<int32_t>{0, 3, 5}));
  EXPECT_TRUE(common::AssignedPartitions(bytes, "absent").empty());
  // Cut short anywhere: nothing, never a guess.
  for (size_t n = 0; n + 4 < bytes.size(); ++n) {
    EXPECT_TRUE(common::AssignedPartitions(bytes.substr(0, n), "rl.decisions.v1").empty()) << n;
  }
}

class FakeProbe final : public common::GroupProbe {
 public:
  common::Result<common::KafkaGroupView> Probe() override {
    if (down_) return common::Status::Unavailable("kafka metadata: all brokers are down");
    return view_;
  }
  common::KafkaGroupView view_;
  bool down_ = false;
};

class GroupLagMonitorTest : public ::testing::Test {
 protected:
  GroupLagMonitorTest() {
    probe_.view_.partitions = 3;
    probe_.view_.state = "Stable";
    probe_.view_.members = 2;
    probe_.view_.owned = {0, 1, 2};
    for (int32_t p = 0; p < 3; ++p) probe_.view_.log_start[p] = 0, probe_.view_.log_end[p] = 0;
  }
  GroupLag Measure() {
    monitor_.Measure();
    return *monitor_.Last();
  }
  FakeProbe probe_;
  MemorySink sink_;
  common::ManualClock clock_;
  common::MetricsRegistry metrics_;
  GroupLagMonitor monitor_{probe_, sink_, clock_, metrics_, 5000};
};

TEST_F(GroupLagMonitorTest, EveryPartitionCountsWhoeverOwnsItAndAPartitionNobodyOwnsIsUnhealthy) {
  probe_.view_.log_end = {{0, 10}, {1, 20}, {2, 5}};
  sink_.MoveTo(0, 10);
  sink_.MoveTo(1, 15);  // partition 2: nothing stored, so from its log start
  probe_.view_.owned = {0, 1};
  GroupLag lag = Measure();
  EXPECT_TRUE(lag.reachable);
  EXPECT_EQ(lag.lag, (std::map<int32_t, int64_t>{{0, 0}, {1, 5}, {2, 5}}));
  EXPECT_EQ(lag.total_lag, 10);
  EXPECT_EQ(lag.unowned, std::vector<int32_t>{2});
  EXPECT_FALSE(lag.healthy());
  probe_.view_.owned = {0, 1, 2};
  EXPECT_TRUE(Measure().healthy());
}

TEST_F(GroupLagMonitorTest, APartitionWhoseOwnerStoppedStallsAfterTheConfiguredTime) {
  // The owner was SIGKILLed: the group still lists it (until its session times out), its
  // partition's events pile up, its position stands still.
  sink_.MoveTo(1, 100);
  probe_.view_.log_end[1] = 150;
  EXPECT_TRUE(Measure().stalled.empty());
  clock_.AdvanceMs(4000);
  probe_.view_.log_end[1] = 400;
  EXPECT_TRUE(Measure().healthy());
  clock_.AdvanceMs(1000);
  GroupLag stalled = Measure();
  EXPECT_EQ(stalled.stalled, std::vector<int32_t>{1});
  EXPECT_FALSE(stalled.healthy());
  // A new owner moves it on: healthy again at once.
  sink_.MoveTo(1, 300);
  EXPECT_TRUE(Measure().healthy());
}

TEST_F(GroupLagMonitorTest, ARebalanceOrAnUnreachableBrokerIsUnhealthy) {
  probe_.view_.state = "PreparingRebalance";
  EXPECT_FALSE(Measure().healthy());
  probe_.view_.state = "Stable";
  probe_.down_ = true;
  GroupLag down = Measure();
  EXPECT_FALSE(down.reachable);
  EXPECT_NE(down.error.find("brokers are down"), std::string::npos);
  EXPECT_FALSE(down.healthy());
  EXPECT_EQ(down.ToJson(clock_.NowMs())["healthy"], false);
}

}  // namespace
}  // namespace rl::analytics
