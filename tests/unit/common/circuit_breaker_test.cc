#include "common/base/circuit_breaker.h"

#include <gtest/gtest.h>

namespace rl::common {
namespace {

class CircuitBreakerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  CircuitBreaker breaker_{{.failure_threshold = 3, .open_ms = 1000}, clock_};
};

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  EXPECT_FALSE(breaker_.OnFailure());
  EXPECT_FALSE(breaker_.OnFailure());
  breaker_.OnSuccess();  // resets the count
  EXPECT_FALSE(breaker_.OnFailure());
  EXPECT_FALSE(breaker_.OnFailure());
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_TRUE(breaker_.OnFailure());
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, LetsOneProbeThroughAfterTheOpenTime) {
  for (int i = 0; i < 3; ++i) breaker_.OnFailure();
  clock_.AdvanceMs(999);
  EXPECT_FALSE(breaker_.Allow());
  clock_.AdvanceMs(1);
  EXPECT_TRUE(breaker_.Allow());   // the probe
  EXPECT_FALSE(breaker_.Allow());  // nobody else while it is in flight
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kHalfOpen);
}

TEST_F(CircuitBreakerTest, ASuccessfulProbeClosesIt) {
  for (int i = 0; i < 3; ++i) breaker_.OnFailure();
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(breaker_.Allow());
  breaker_.OnSuccess();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, AFailedProbeReopensForAnotherPeriod) {
  for (int i = 0; i < 3; ++i) breaker_.OnFailure();
  clock_.AdvanceMs(1000);
  ASSERT_TRUE(breaker_.Allow());
  EXPECT_FALSE(breaker_.OnFailure());  // re-opening is not a new opening
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kOpen);
  clock_.AdvanceMs(500);
  EXPECT_FALSE(breaker_.Allow());
  clock_.AdvanceMs(500);
  EXPECT_TRUE(breaker_.Allow());
}

}  // namespace
}  // namespace rl::common
