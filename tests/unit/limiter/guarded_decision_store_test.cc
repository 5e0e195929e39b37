#include "limiter/store/guarded_decision_store.h"

#include <gtest/gtest.h>

#include "tests/support/memory_decision_store.h"

namespace rl::limiter {
namespace {

class GuardedDecisionStoreTest : public ::testing::Test {
 protected:
  uint64_t Opened() { return metrics_.AddCounter("rl_redis_circuit_opened_total", "").Value(); }

  common::ManualClock clock_;
  MemoryDecisionStore inner_{clock_};
  common::MetricsRegistry metrics_;
  GuardedDecisionStore store_{inner_, inner_, {.failure_threshold = 3, .open_ms = 1000}, clock_, metrics_};
  const std::vector<RuleCheck> checks_ = {
      RuleCheck{.rule = "r", .key = "k", .ban_key = "b", .strike_key = "x"}};
};

TEST_F(GuardedDecisionStoreTest, OutagesOpenTheBreakerSoCallersStopWaiting) {
  inner_.Fail(common::Status::Timeout("paused"));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(store_.Decide(checks_).ok());
  EXPECT_EQ(Opened(), 1u);
  inner_.Recover();
  EXPECT_FALSE(store_.Decide(checks_).ok());  // refused without a call while open
  clock_.AdvanceMs(1001);
  EXPECT_TRUE(store_.Decide(checks_).ok());  // the probe finds Redis back
}

TEST_F(GuardedDecisionStoreTest, DataErrorsNeverOpenTheBreaker) {
  // WRONGTYPE, a malformed reply: Redis answered, so it is not unavailable.
  inner_.Fail(common::Status::DataError("redis script error: WRONGTYPE Operation against a key"));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(store_.Decide(checks_).ok());
  EXPECT_EQ(Opened(), 0u);
  inner_.Recover();
  EXPECT_TRUE(store_.Decide(checks_).ok());
}

TEST_F(GuardedDecisionStoreTest, DataErrorsBetweenTimeoutsDoNotHideAnOutage) {
  inner_.Fail(common::Status::Timeout("paused"));
  EXPECT_FALSE(store_.Decide(checks_).ok());
  EXPECT_FALSE(store_.Decide(checks_).ok());
  inner_.Fail(common::Status::DataError("WRONGTYPE"));
  EXPECT_FALSE(store_.Decide(checks_).ok());
  inner_.Fail(common::Status::Timeout("paused"));
  EXPECT_FALSE(store_.Decide(checks_).ok());
  EXPECT_EQ(Opened(), 1u);
}

}  // namespace
}  // namespace rl::limiter
