#include "algorithm/token_bucket.h"

#include <gtest/gtest.h>

#include "clock.h"

namespace rl::limiter {
namespace {

// Drives the model the way the store does: the state carried from call to call, time from a
// manual clock.
class Bucket {
 public:
  Bucket(int64_t capacity, double rate) : params_{capacity, rate} {}
  BucketDecision Take(int64_t cost = 1) {
    BucketDecision d = DecideTokenBucket(state_, clock_.MonotonicUs(), params_, cost);
    state_ = d.state;
    return d;
  }
  common::ManualClock& clock() { return clock_; }

 private:
  TokenBucketParams params_;
  std::optional<BucketState> state_;
  common::ManualClock clock_;
};

TEST(TokenBucket, NewKeyStartsFull) {
  Bucket b(5, 1.0);
  BucketDecision d = b.Take();
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 4);
  EXPECT_EQ(d.reset_ms, 1000);
  EXPECT_EQ(d.retry_after_ms, 0);
}

TEST(TokenBucket, AdmitsExactlyCapacityInABurst) {
  Bucket b(10, 1.0);
  int allowed = 0;
  for (int i = 0; i < 30; ++i) allowed += b.Take().allowed;
  EXPECT_EQ(allowed, 10);
}

TEST(TokenBucket, BlockedAnswerSaysWhenToRetry) {
  Bucket b(2, 0.5);  // one token every 2 s
  b.Take();
  b.Take();
  BucketDecision d = b.Take();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.retry_after_ms, 2000);
  EXPECT_EQ(d.reset_ms, 4000);
}

TEST(TokenBucket, RefillAccumulatesFractions) {
  Bucket b(1, 0.5);
  ASSERT_TRUE(b.Take().allowed);
  // Four waits of 0.5 s each add 0.25 tokens: none is enough alone, together they make one.
  for (int i = 0; i < 3; ++i) {
    b.clock().AdvanceMs(500);
    BucketDecision d = b.Take();
    EXPECT_FALSE(d.allowed) << "after " << (i + 1) * 500 << " ms";
    EXPECT_DOUBLE_EQ(d.state.tokens, 0.25 * (i + 1));
    EXPECT_EQ(d.retry_after_ms, 2000 - 500 * (i + 1));
  }
  b.clock().AdvanceMs(500);
  EXPECT_TRUE(b.Take().allowed);
}

TEST(TokenBucket, SlowRatesWork) {
  Bucket b(1, 0.01);  // one token per 100 s
  ASSERT_TRUE(b.Take().allowed);
  b.clock().AdvanceMs(99'999);
  EXPECT_FALSE(b.Take().allowed);
  b.clock().AdvanceMs(1);
  EXPECT_TRUE(b.Take().allowed);
}

TEST(TokenBucket, RefillNeverExceedsCapacity) {
  Bucket b(3, 100.0);
  b.Take();
  b.clock().AdvanceMs(3'600'000);
  BucketDecision d = b.Take();
  EXPECT_EQ(d.remaining, 2);
  EXPECT_DOUBLE_EQ(d.state.tokens, 2.0);
}

TEST(TokenBucket, CostTakesSeveralTokensAtOnce) {
  Bucket b(10, 1.0);
  EXPECT_TRUE(b.Take(7).allowed);
  BucketDecision d = b.Take(4);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 3);  // a blocked request takes nothing
  EXPECT_EQ(d.retry_after_ms, 1000);
  EXPECT_TRUE(b.Take(3).allowed);
}

TEST(TokenBucket, ClockGoingBackwardsRefillsNothing) {
  Bucket b(2, 1.0);
  b.Take();
  b.Take();
  b.clock().AdvanceUs(-5'000'000);
  BucketDecision d = b.Take();
  EXPECT_FALSE(d.allowed);
  EXPECT_DOUBLE_EQ(d.state.tokens, 0.0);
}

TEST(TokenBucket, TtlCoversTheTimeToRefillFully) {
  Bucket b(10, 2.0);
  BucketDecision d = b.Take(10);
  EXPECT_EQ(d.reset_ms, 5000);
  EXPECT_EQ(d.ttl_ms, 5000 + kTtlMarginMs);
}

}  // namespace
}  // namespace rl::limiter
