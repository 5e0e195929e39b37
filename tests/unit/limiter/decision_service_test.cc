#include "decision_service.h"

#include <gtest/gtest.h>

#include "memory_decision_store.h"

namespace rl::limiter {
namespace {

using events::v1::Decision;

class DecisionServiceTest : public ::testing::Test {
 protected:
  DecisionService MakeService(FailMode mode) {
    DecisionPolicy policy;
    policy.bucket = {3, 1.0};
    policy.fail_mode = mode;
    policy.fail_closed_retry_after_ms = 2500;
    policy.limiter_id = "lim-a";
    return DecisionService(store_, publisher_, clock_, metrics_, policy);
  }
  uint64_t Counted(const std::string& outcome) {
    return metrics_.AddCounter("rl_decisions_total", "", {{"outcome", outcome}}).Value();
  }

  common::ManualClock clock_;
  MemoryDecisionStore store_{clock_};
  RecordingEventPublisher publisher_;
  common::MetricsRegistry metrics_;
};

TEST_F(DecisionServiceTest, AllowsUntilTheBucketIsEmptyThenBlocks) {
  DecisionService service = MakeService(FailMode::kOpen);
  CheckRequest req{.user_id = "u1"};
  for (int i = 0; i < 3; ++i) {
    CheckResult r = service.Check(req);
    EXPECT_EQ(r.outcome, events::v1::OUTCOME_ALLOWED);
    EXPECT_EQ(r.HttpStatus(), 200);
    EXPECT_EQ(r.remaining, 2 - i);
  }
  CheckResult blocked = service.Check(req);
  EXPECT_EQ(blocked.outcome, events::v1::OUTCOME_BLOCKED);
  EXPECT_EQ(blocked.HttpStatus(), 429);
  EXPECT_EQ(blocked.retry_after_ms, 1000);
  EXPECT_EQ(Counted("allowed"), 3u);
  EXPECT_EQ(Counted("blocked"), 1u);
}

TEST_F(DecisionServiceTest, KeepsOneBucketPerUserAndAction) {
  DecisionService service = MakeService(FailMode::kOpen);
  service.Check({.user_id = "u1", .action = "login", .cost = 3});
  EXPECT_TRUE(service.Check({.user_id = "u1", .action = "search"}).allowed);
  EXPECT_TRUE(service.Check({.user_id = "u2", .action = "login"}).allowed);
  EXPECT_FALSE(service.Check({.user_id = "u1", .action = "login"}).allowed);
  EXPECT_EQ(store_.KeyCount(), 3u);
}

TEST_F(DecisionServiceTest, PublishesOneEventPerDecisionWithItsFields) {
  DecisionService service = MakeService(FailMode::kOpen);
  clock_.AdvanceMs(42);
  service.Check({.user_id = "u1", .action = "login", .cost = 2});
  service.Check({.user_id = "u1", .action = "login", .cost = 2});
  auto events = publisher_.events();
  ASSERT_EQ(events.size(), 2u);
  const Decision& first = events[0];
  EXPECT_EQ(first.event_id(), "lim-a-1");
  EXPECT_EQ(first.user_id(), "u1");
  EXPECT_EQ(first.action(), "login");
  EXPECT_EQ(first.rule(), "default");
  EXPECT_EQ(first.outcome(), events::v1::OUTCOME_ALLOWED);
  EXPECT_EQ(first.limit(), 3);
  EXPECT_EQ(first.remaining(), 1);
  EXPECT_EQ(first.cost(), 2);
  EXPECT_EQ(first.limiter_id(), "lim-a");
  EXPECT_EQ(first.ts_ms(), clock_.NowMs());
  EXPECT_EQ(events[1].event_id(), "lim-a-2");
  EXPECT_EQ(events[1].outcome(), events::v1::OUTCOME_BLOCKED);
  EXPECT_FALSE(events[1].allowed());
}

TEST_F(DecisionServiceTest, FailOpenAllowsAndCountsWhenTheStoreIsDown) {
  DecisionService service = MakeService(FailMode::kOpen);
  store_.Fail(common::Status::Timeout("slow"));
  CheckResult r = service.Check({.user_id = "u1"});
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.outcome, events::v1::OUTCOME_FAIL_OPEN);
  EXPECT_EQ(r.HttpStatus(), 200);
  EXPECT_FALSE(r.HasLimitState());
  EXPECT_EQ(Counted("fail_open"), 1u);
  EXPECT_EQ(metrics_.AddCounter("rl_redis_errors_total", "", {{"kind", "timeout"}}).Value(), 1u);
  EXPECT_EQ(publisher_.events().back().outcome(), events::v1::OUTCOME_FAIL_OPEN);
}

TEST_F(DecisionServiceTest, FailClosedAnswers503WithRetryAfter) {
  DecisionService service = MakeService(FailMode::kClosed);
  store_.Fail(common::Status::Unavailable("connection refused"));
  CheckResult r = service.Check({.user_id = "u1"});
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.outcome, events::v1::OUTCOME_FAIL_CLOSED);
  EXPECT_EQ(r.HttpStatus(), 503);
  EXPECT_EQ(r.retry_after_ms, 2500);
  EXPECT_EQ(Counted("fail_closed"), 1u);
  EXPECT_EQ(metrics_.AddCounter("rl_redis_errors_total", "", {{"kind", "unavailable"}}).Value(),
            1u);
}

TEST_F(DecisionServiceTest, RecoversByItselfWhenTheStoreReturns) {
  DecisionService service = MakeService(FailMode::kClosed);
  store_.Fail(common::Status::Unavailable("down"));
  EXPECT_EQ(service.Check({.user_id = "u1"}).outcome, events::v1::OUTCOME_FAIL_CLOSED);
  store_.Recover();
  EXPECT_EQ(service.Check({.user_id = "u1"}).outcome, events::v1::OUTCOME_ALLOWED);
}

}  // namespace
}  // namespace rl::limiter
