// The decision core run without waiting (AsyncDecisionService) against a store whose answers the
// test delivers when it wants, as an event loop's store answers a turn later.
#include "limiter/core/async_decision_service.h"

#include <gtest/gtest.h>

#include <optional>

#include "limiter/core/decision_service.h"
#include "tests/support/active_policy.h"
#include "tests/support/deferred_async_store.h"
#include "tests/support/memory_decision_store.h"

namespace rl::limiter {
namespace {

constexpr char kPolicy[] = R"(
rules:
  - {name: per-user, algorithm: fixed_window, limit: 2, window: 60s, scope: user}
api_keys_redis_hash: rl:api_keys
allow: {users: [ops]}
)";

constexpr char kEnvoyDomain[] = R"(
domain: edge
descriptors:
  - key: path
    rate_limit: {unit: minute, requests_per_unit: 1}
)";

class RecordingEvents final : public DecisionEvents {
 public:
  void Publish(const DecisionEvent& event) override { events.push_back(event); }
  std::vector<DecisionEvent> events;
};

class AsyncDecisionServiceTest : public ::testing::Test {
 protected:
  // Decides `requests`; the answer, once `done` has been called.
  void Decide(std::vector<CheckRequest> requests, const std::string& request_id = "req-1") {
    decided_.reset();
    async_.Decide(service_.NewContext(request_id), policies_.Current(), std::move(requests),
                  [this](Decisions d) {
                    ASSERT_FALSE(decided_) << "done called twice";
                    decided_ = std::move(d);
                  });
  }

  common::ManualClock clock_{1'700'000'000'000};
  common::MetricsRegistry metrics_;
  MemoryDecisionStore memory_{clock_};
  RecordingEvents events_;
  PolicyHolder policies_{ActivePolicyFromYaml(kPolicy)};
  DecisionService service_{memory_,  memory_, events_, clock_, metrics_, policies_,
                           {.limiter_id = "l1", .request_deadline_ms = 50}};
  DeferredAsyncStore store_{memory_, memory_};
  AsyncDecisionService async_{service_.core(), store_, events_, clock_, policies_};
  std::optional<Decisions> decided_;
};

TEST_F(AsyncDecisionServiceTest, WhatThePolicyAnswersIsAnsweredAtOnceWithoutTheStore) {
  Decide({{.user_id = "ops"}});
  ASSERT_TRUE(decided_);  // called before Decide returned
  EXPECT_EQ(decided_->results[0].verdict, Verdict::kAllowlisted);
  EXPECT_EQ(store_.decide_calls() + store_.lookup_calls(), 0);
}

TEST_F(AsyncDecisionServiceTest, TheAnswerWaitsForTheStoreThenLooksUpKeysBeforeTheRules) {
  memory_.SetApiKey("rl:api_keys", "key-carol", "default:carol");
  Decide({{.user_id = "bob"}, {.api_key = "key-carol"}, {.user_id = "ops"}}, "req-7");
  EXPECT_FALSE(decided_);
  EXPECT_EQ(store_.lookup_calls(), 1);  // step 1: the one key, before any rule
  EXPECT_EQ(store_.decide_calls(), 0);
  ASSERT_TRUE(store_.Deliver());
  EXPECT_FALSE(decided_);
  EXPECT_EQ(store_.decide_calls(), 1);  // step 2: bob's and carol's rules, in one call
  ASSERT_TRUE(store_.Deliver());
  ASSERT_TRUE(decided_);
  ASSERT_EQ(decided_->results.size(), 3u);
  EXPECT_EQ(decided_->results[0].verdict, Verdict::kAllowed);
  EXPECT_EQ(decided_->results[1].verdict, Verdict::kAllowed);
  EXPECT_EQ(decided_->results[1].remaining, 1);
  EXPECT_EQ(decided_->results[2].verdict, Verdict::kAllowlisted);
  ASSERT_EQ(events_.events.size(), 3u);
  EXPECT_EQ(events_.events[1].user_id, "carol");
  EXPECT_EQ(events_.events[1].request_id, "req-7");
  // Every store call carries the request's deadline: REDIS_TIMEOUT_MS from when it arrived.
  for (int64_t deadline : store_.deadlines()) EXPECT_EQ(deadline, clock_.MonotonicUs() + 50'000);
}

TEST_F(AsyncDecisionServiceTest, NoStoreStepStartsAfterTheDeadline) {
  memory_.SetApiKey("rl:api_keys", "key-carol", "default:carol");
  Decide({{.user_id = "bob"}, {.api_key = "key-carol"}});
  clock_.AdvanceMs(50);  // the lookups answer just at the deadline
  ASSERT_TRUE(store_.Deliver());
  ASSERT_TRUE(decided_);
  EXPECT_EQ(store_.decide_calls(), 0);
  EXPECT_EQ(decided_->results[0].verdict, Verdict::kFailOpen);
  EXPECT_EQ(decided_->results[1].verdict, Verdict::kFailOpen);  // carol's rules never asked
  EXPECT_EQ(metrics_.AddCounter("rl_redis_errors_total", "", {{"kind", "timeout"}}).Value(), 2u);
}

TEST_F(AsyncDecisionServiceTest, SyncAndAsyncRunnersOfOneCoreShareOneEventSequence) {
  Decide({{.user_id = "bob"}});
  service_.Check({.user_id = "bob"});  // decided while the async one waits for the store
  store_.DeliverAll();
  ASSERT_TRUE(decided_);
  ASSERT_EQ(events_.events.size(), 2u);
  EXPECT_NE(events_.events[0].sequence, events_.events[1].sequence);
  EXPECT_EQ(service_.events_decided(), 2u);
}

TEST_F(AsyncDecisionServiceTest, DescriptorsAreDecidedInOneStoreCall) {
  policies_.Replace(ActivePolicyFromYaml(kEnvoyDomain));
  std::vector<DescriptorRequest> requests(2);
  for (DescriptorRequest& r : requests) {
    r.check.user_id = "edge";
    r.domain = "edge";
    r.entries = {{"path", "/a"}};
  }
  async_.DecideDescriptors({}, policies_.Current(), std::move(requests),
                           [this](Decisions d) { decided_ = std::move(d); });
  EXPECT_EQ(store_.decide_calls(), 1);
  store_.DeliverAll();
  ASSERT_TRUE(decided_);
  EXPECT_EQ(decided_->results[0].verdict, Verdict::kAllowed);
  EXPECT_EQ(decided_->results[1].verdict, Verdict::kBlocked);  // one a minute, the same path
}

}  // namespace
}  // namespace rl::limiter
