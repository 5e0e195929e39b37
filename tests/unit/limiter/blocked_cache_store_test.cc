#include "limiter/core/blocked_cache_store.h"

#include <gtest/gtest.h>

#include <functional>

#include "tests/support/memory_decision_store.h"

namespace rl::limiter {
namespace {

RuleCheck Rule(const std::string& key, int64_t limit, int64_t cost = 1) {
  RuleCheck c;
  c.rule = "r";
  c.key = key;
  c.ban_key = key + ":b";
  c.strike_key = key + ":x";
  c.params = {Algorithm::kFixedWindow, limit, 60'000, limit};
  c.cost = cost;
  return c;
}

class BlockedCacheStoreTest : public ::testing::Test {
 protected:
  uint64_t Hits() { return metrics_.AddCounter("rl_blocked_cache_hits_total", "").Value(); }
  common::ManualClock clock_{1'700'000'040'000};  // 40 s into a minute
  MemoryDecisionStore memory_{clock_};
  common::MetricsRegistry metrics_;
  BlockedCacheStore store_{memory_, memory_, clock_, metrics_};
};

TEST_F(BlockedCacheStoreTest, ABlockedRequestIsAnsweredLocallyUntilItsRetryTimeThenByTheStore) {
  const std::vector<RuleCheck> checks = {Rule("k", 1)};
  ASSERT_TRUE(store_.Decide(checks)->answer.rules[0].allowed);
  auto blocked = store_.Decide(checks);
  ASSERT_FALSE(blocked->answer.rules[0].allowed);
  const int64_t retry = blocked->answer.rules[0].retry_after_ms;
  ASSERT_GT(retry, 1000);
  const int decisions = memory_.decisions();
  clock_.AdvanceMs(1000);
  auto local = store_.Decide(checks);
  EXPECT_FALSE(local->answer.rules[0].allowed);
  EXPECT_EQ(local->answer.rules[0].retry_after_ms, retry - 1000);  // counted down
  EXPECT_EQ(memory_.decisions(), decisions);                       // the store was not asked
  EXPECT_EQ(Hits(), 1u);
  clock_.AdvanceMs(retry - 1000);
  EXPECT_TRUE(store_.Decide(checks)->answer.rules[0].allowed);  // the store again, admitted
  EXPECT_EQ(memory_.decisions(), decisions + 1);
}

TEST_F(BlockedCacheStoreTest, OnlyTheSameRulesParametersAndCostAreAnsweredLocally) {
  ASSERT_TRUE(store_.Decide({Rule("k", 2, 2)})->answer.rules[0].allowed);
  ASSERT_FALSE(store_.Decide({Rule("k", 2, 2)})->answer.rules[0].allowed);
  const int decisions = memory_.decisions();
  store_.Decide({Rule("k", 2, 1)});  // another cost
  store_.Decide({Rule("k", 3, 2)});  // a reloaded rule with another limit
  EXPECT_EQ(memory_.decisions(), decisions + 2);
  EXPECT_EQ(Hits(), 0u);
}

TEST_F(BlockedCacheStoreTest, PenaltyRulesAndAdminResetsAlwaysReachTheStore) {
  RuleCheck penalized = Rule("p", 1);
  penalized.penalty = {.blocks = 3, .within_ms = 60'000, .ban_ms = 60'000};
  EXPECT_EQ(BlockedCacheStore::Signature({penalized}), "");
  store_.Decide({penalized});
  store_.Decide({penalized});
  const int decisions = memory_.decisions();
  store_.Decide({penalized});  // its strike must count
  EXPECT_EQ(memory_.decisions(), decisions + 1);

  const std::vector<RuleCheck> checks = {Rule("k", 1)};
  store_.Decide(checks);
  ASSERT_FALSE(store_.Decide(checks)->answer.rules[0].allowed);
  ASSERT_TRUE(store_.Delete({"k"}).ok());  // DELETE /limits/<user>
  EXPECT_TRUE(store_.Decide(checks)->answer.rules[0].allowed);
}

TEST_F(BlockedCacheStoreTest, AShadowRuleThatWouldBlockIsNotABlock) {
  RuleCheck shadow = Rule("s", 1);
  shadow.shadow = true;
  store_.Decide({shadow});
  store_.Decide({shadow});
  const int decisions = memory_.decisions();
  store_.Decide({shadow});
  EXPECT_EQ(memory_.decisions(), decisions + 1);
}

// A store whose Decide runs `during` first: another limiter's reset arriving mid-call.
class InterruptedStore final : public DecisionStore {
 public:
  InterruptedStore(DecisionStore& inner, std::function<void()> during)
      : inner_(inner), during_(std::move(during)) {}
  common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) override {
    auto answer = inner_.Decide(checks);  // Redis answered "blocked" ...
    if (during_) during_();               // ... and then a reset was announced
    return answer;
  }
  std::vector<common::Result<StoreAnswer>> DecideMany(
      const std::vector<std::vector<RuleCheck>>& requests) override {
    return inner_.DecideMany(requests);
  }

 private:
  DecisionStore& inner_;
  std::function<void()> during_;
};

TEST_F(BlockedCacheStoreTest, AResetThatLandsWhileTheStoreDecidesIsNotUndoneByTheCache) {
  BlockedCacheStore* cache = nullptr;
  InterruptedStore interrupted(memory_, [&] {
    if (cache != nullptr) cache->Forget();
  });
  BlockedCacheStore store(interrupted, memory_, clock_, metrics_);
  const std::vector<RuleCheck> one = {Rule("k", 1)};
  store.Decide(one);
  cache = &store;
  ASSERT_FALSE(store.Decide(one)->answer.rules[0].allowed);  // blocked, but reset meanwhile
  const uint64_t hits = Hits();
  store.Decide(one);  // asked the store again: the reset's "forget" held
  EXPECT_EQ(Hits(), hits);
}

TEST_F(BlockedCacheStoreTest, WhileTheResetFeedIsDownNothingIsAnsweredLocally) {
  const std::vector<RuleCheck> one = {Rule("k2", 1)};
  store_.Decide(one);
  store_.Decide(one);  // blocked: cached
  store_.SetShared(false);
  const uint64_t hits = Hits();
  store_.Decide(one);
  store_.Decide(one);
  EXPECT_EQ(Hits(), hits);
  store_.SetShared(true);
  store_.Decide(one);  // cached again from here
  store_.Decide(one);
  EXPECT_EQ(Hits(), hits + 1);
}

}  // namespace
}  // namespace rl::limiter
