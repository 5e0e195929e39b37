#include "limiter/core/blocked_cache.h"

#include <gtest/gtest.h>

#include <functional>

#include "limiter/core/decision_service.h"
#include "limiter/front/decision_events.h"
#include "tests/support/active_policy.h"
#include "tests/support/memory_decision_store.h"
#include "tests/support/recording_event_publisher.h"

namespace rl::limiter {
namespace {

constexpr char kOnePerMinute[] = R"(
rules:
  - {name: r, algorithm: fixed_window, limit: 1, window: 60s}
)";

// A store whose Decide runs `during` once it has decided: another limiter's reset arriving
// mid-call.
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

// The cache as the limiter uses it: asked by the decision core while it plans, told the store's
// answers when it completes, reset through the admin store.
class BlockedCacheTest : public ::testing::Test {
 protected:
  void Use(const std::string& yaml) { policies_.Replace(ActivePolicyFromYaml(yaml)); }
  CheckResult Check(const std::string& user, int64_t cost = 1) {
    return service_.Check({.user_id = user, .action = "default", .cost = cost});
  }
  uint64_t Hits() { return metrics_.AddCounter("rl_blocked_cache_hits_total", "").Value(); }
  // DELETE /limits/<user>: every key of the user's rules, through the admin store.
  void Reset(const std::string& user) {
    CheckRequest request{.user_id = user, .action = "default"};
    std::vector<std::string> keys;
    for (const RuleCheck& c : Resolve(policies_.Current()->policy, request, nullptr).checks) {
      keys.insert(keys.end(), {c.key, c.ban_key, c.strike_key});
    }
    ASSERT_TRUE(admin_.Delete(keys).ok());
  }

  common::ManualClock clock_{1'700'000'040'000};  // 40 s into a minute
  MemoryDecisionStore memory_{clock_};
  common::MetricsRegistry metrics_;
  BlockedCache cache_{clock_, metrics_};
  CacheResettingAdminStore admin_{memory_, cache_};
  common::RecordingEventPublisher publisher_;
  PublishedDecisionEvents events_{publisher_};
  PolicyHolder policies_{ActivePolicyFromYaml(kOnePerMinute)};
  DecisionService service_{memory_, memory_, events_, clock_, metrics_,
                           policies_, {},      &cache_};
};

TEST_F(BlockedCacheTest, ABlockedRequestIsAnsweredLocallyUntilItsRetryTimeThenByTheStore) {
  ASSERT_TRUE(Check("u").allowed());
  const CheckResult blocked = Check("u");
  ASSERT_EQ(blocked.verdict, Verdict::kBlocked);
  const int64_t retry = blocked.retry_after_ms;
  ASSERT_GT(retry, 1000);
  const int decisions = memory_.decisions();
  clock_.AdvanceMs(1000);
  const CheckResult local = Check("u");
  EXPECT_EQ(local.verdict, Verdict::kBlocked);
  EXPECT_EQ(local.retry_after_ms, retry - 1000);  // counted down
  EXPECT_EQ(memory_.decisions(), decisions);      // the store was not asked
  EXPECT_EQ(Hits(), 1u);
  EXPECT_EQ(publisher_.events().size(), 3u);  // a local answer is still a decision, with its event
  clock_.AdvanceMs(retry - 1000);
  EXPECT_TRUE(Check("u").allowed());  // the store again, admitted
  EXPECT_EQ(memory_.decisions(), decisions + 1);
}

TEST_F(BlockedCacheTest, OnlyTheSameRulesParametersAndCostAreAnsweredLocally) {
  Use(R"(
rules:
  - {name: r, algorithm: fixed_window, limit: 2, window: 60s}
)");
  ASSERT_TRUE(Check("u", 2).allowed());
  ASSERT_EQ(Check("u", 2).verdict, Verdict::kBlocked);
  const int decisions = memory_.decisions();
  Check("u", 1);  // another cost
  Use(R"(
rules:
  - {name: r, algorithm: fixed_window, limit: 3, window: 60s}
)");
  Check("u", 2);  // a reloaded rule with another limit
  EXPECT_EQ(memory_.decisions(), decisions + 2);
  EXPECT_EQ(Hits(), 0u);
}

TEST_F(BlockedCacheTest, PenaltyRulesAndAdminResetsAlwaysReachTheStore) {
  Use(R"(
rules:
  - name: r
    algorithm: fixed_window
    limit: 1
    window: 60s
    penalty: {blocks: 3, within: 60s, ban: 60s}
)");
  CheckRequest request{.user_id = "p", .action = "default"};
  const auto penalized = Resolve(policies_.Current()->policy, request, nullptr).checks;
  ASSERT_EQ(penalized.size(), 1u);
  EXPECT_EQ(BlockedCache::Signature(penalized), "");
  Check("p");
  Check("p");
  const int decisions = memory_.decisions();
  Check("p");  // its strike must count
  EXPECT_EQ(memory_.decisions(), decisions + 1);

  Use(kOnePerMinute);
  Check("k");
  ASSERT_EQ(Check("k").verdict, Verdict::kBlocked);
  Reset("k");  // DELETE /limits/<user>
  EXPECT_TRUE(Check("k").allowed());
}

TEST_F(BlockedCacheTest, AShadowRuleThatWouldBlockIsNotABlock) {
  Use(R"(
rules:
  - {name: r, algorithm: fixed_window, limit: 1, window: 60s, shadow: true}
)");
  Check("s");
  Check("s");
  const int decisions = memory_.decisions();
  Check("s");
  EXPECT_EQ(memory_.decisions(), decisions + 1);
}

TEST_F(BlockedCacheTest, AResetThatLandsWhileTheStoreDecidesIsNotUndoneByTheCache) {
  bool interrupt = false;
  InterruptedStore interrupted(memory_, [&] {
    if (interrupt) cache_.Forget();
  });
  DecisionService service(interrupted, memory_, events_, clock_, metrics_, policies_, {},
                          &cache_);
  const CheckRequest request{.user_id = "k", .action = "default"};
  service.Check(request);
  interrupt = true;
  ASSERT_EQ(service.Check(request).verdict, Verdict::kBlocked);  // blocked, but reset meanwhile
  const uint64_t hits = Hits();
  service.Check(request);  // asked the store again: the reset's "forget" held
  EXPECT_EQ(Hits(), hits);
}

TEST_F(BlockedCacheTest, WhileTheResetFeedIsDownNothingIsAnsweredLocally) {
  Check("k2");
  Check("k2");  // blocked: cached
  cache_.SetShared(false);
  const uint64_t hits = Hits();
  Check("k2");
  Check("k2");
  EXPECT_EQ(Hits(), hits);
  cache_.SetShared(true);
  Check("k2");  // cached again from here
  Check("k2");
  EXPECT_EQ(Hits(), hits + 1);
}

TEST_F(BlockedCacheTest, ABatchIsAnsweredLocallyRequestByRequest) {
  Check("a");
  ASSERT_EQ(Check("a").verdict, Verdict::kBlocked);  // "a" is cached as blocked
  const int decisions = memory_.decisions();
  const auto results = service_.CheckBatch(
      {{.user_id = "a", .action = "default"}, {.user_id = "b", .action = "default"}});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].verdict, Verdict::kBlocked);  // locally
  EXPECT_TRUE(results[1].allowed());                 // by the store
  EXPECT_EQ(Hits(), 1u);
  EXPECT_EQ(memory_.decisions(), decisions + 1);
}

}  // namespace
}  // namespace rl::limiter
