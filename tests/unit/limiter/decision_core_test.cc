// The decision core's two phases driven by hand, with no store at all: the test plays the store,
// answering the plan's key lookups and rule checks itself.
#include "limiter/core/decision_core.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/support/active_policy.h"

namespace rl::limiter {
namespace {

constexpr char kPolicy[] = R"(
rules:
  - {name: per-user, algorithm: fixed_window, limit: 10, window: 60s, scope: user}
  - {name: logins, algorithm: fixed_window, limit: 2, window: 60s, match: {actions: [login]}}
tiers:
  free: [per-user, logins]
default_tier: free
api_keys:
  key-alice: {user: alice, tier: free}
api_keys_redis_hash: rl:api_keys
allow: {users: [ops]}
deny: {users: [mallory]}
)";

constexpr char kEnvoyDomain[] = R"(
domain: edge
descriptors:
  - key: path
    rate_limit: {unit: minute, requests_per_unit: 5}
)";

CheckRequest User(const std::string& user, const std::string& action = "default",
                  int64_t cost = 1) {
  return {.user_id = user, .action = action, .cost = cost};
}

CheckRequest Key(const std::string& api_key) {
  return {.action = "default", .cost = 1, .api_key = api_key};
}

// The store's answer to one request's rule checks: each rule admitted with `remaining` left, or
// (remaining < 0) refused for `retry_ms`.
StoreAnswer Answer(int64_t now_ms, const std::vector<int64_t>& remaining, int64_t retry_ms = 0) {
  StoreAnswer a;
  a.now_ms = now_ms;
  for (int64_t r : remaining) {
    RuleAnswer rule;
    rule.allowed = r >= 0;
    rule.remaining = std::max<int64_t>(0, r);
    rule.reset_ms = 60'000;
    rule.retry_after_ms = r >= 0 ? 0 : retry_ms;
    a.answer.rules.push_back(rule);
  }
  return a;
}

class DecisionCoreTest : public ::testing::Test {
 protected:
  DecisionCore Core(FailMode mode = FailMode::kOpen) {
    return DecisionCore(clock_, metrics_,
                        {.fail_mode = mode, .fail_closed_retry_after_ms = 700, .limiter_id = "l1"});
  }
  common::ManualClock clock_{1'700'000'000'000};
  common::MetricsRegistry metrics_;
};

TEST_F(DecisionCoreTest, ASingleCheckIsPlannedAsTheStoreWorkAndCompletedFromItsAnswer) {
  DecisionCore core = Core();
  const auto policy = ActivePolicyFromYaml(kPolicy);
  const std::vector<CheckRequest> requests = {User("u1", "login")};
  DecisionPlan plan = core.Plan({.request_id = "req-1"}, policy, requests);
  EXPECT_TRUE(plan.key_lookups().empty());
  ASSERT_EQ(plan.rule_checks().size(), 1u);
  ASSERT_EQ(plan.rule_checks()[0].size(), 2u);  // per-user and logins, in the policy's order
  EXPECT_EQ(plan.rule_checks()[0][0].rule, "per-user");
  EXPECT_EQ(plan.rule_checks()[0][1].rule, "logins");

  Decisions decided = core.Complete(std::move(plan), {Answer(1'700'000'000'123, {9, 1})});
  ASSERT_EQ(decided.results.size(), 1u);
  const CheckResult& r = decided.results[0];
  EXPECT_EQ(r.verdict, Verdict::kAllowed);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.rule, "logins");  // the one closest to its limit
  EXPECT_EQ(r.remaining, 1);
  EXPECT_EQ(decided.policy, policy);  // the answer carries the policy it was decided under
  ASSERT_EQ(decided.events.size(), 1u);
  EXPECT_EQ(decided.events[0].sequence, 1u);
  EXPECT_EQ(decided.events[0].ts_ms, 1'700'000'000'123);  // the store's clock
  EXPECT_EQ(decided.events[0].user_id, "u1");
  EXPECT_EQ(core.events_decided(), 1u);
}

TEST_F(DecisionCoreTest, ABlockedAnswerAndAFailedOneAreDecisionsWithTheirEvents) {
  DecisionCore core = Core(FailMode::kClosed);
  const auto policy = ActivePolicyFromYaml(kPolicy);
  const std::vector<CheckRequest> requests = {User("u1", "login"), User("u2", "login")};
  DecisionPlan plan = core.Plan({.request_id = "req-1"}, policy, requests);
  ASSERT_EQ(plan.rule_checks().size(), 2u);
  Decisions decided = core.Complete(
      std::move(plan), {Answer(5, {9, -1}, 4'000), common::Status::Timeout("slow")});
  EXPECT_EQ(decided.results[0].verdict, Verdict::kBlocked);
  EXPECT_EQ(decided.results[0].rule, "logins");
  EXPECT_EQ(decided.results[0].retry_after_ms, 4'000);
  EXPECT_EQ(decided.results[1].verdict, Verdict::kFailClosed);
  EXPECT_EQ(decided.results[1].retry_after_ms, 700);
  ASSERT_EQ(decided.events.size(), 2u);
  EXPECT_EQ(decided.events[1].verdict, Verdict::kFailClosed);
  EXPECT_EQ(decided.events[1].ts_ms, clock_.NowMs());  // no store clock: the limiter's
  EXPECT_EQ(metrics_.AddCounter("rl_redis_errors_total", "", {{"kind", "timeout"}}).Value(), 1u);
}

// A batch: what the policy alone answers is answered in the plan; every key the Redis hash must
// name is one lookup of one step (one pipelined round trip); the rule checks follow in request
// order, so that the store charges them in the order they came.
TEST_F(DecisionCoreTest, ABatchAnswersWhatThePolicyCanAndLooksUpEveryUnknownKeyInOneStep) {
  DecisionCore core = Core();
  const auto policy = ActivePolicyFromYaml(kPolicy);
  const std::vector<CheckRequest> requests = {
      Key("key-carol"),       // 0: only the hash knows it
      User("ops"),            // 1: allow list
      User("mallory"),        // 2: deny list
      User("u1", "login", 3), // 3: above the logins rule's capacity: a client error
      Key("key-alice"),       // 4: in the file
      Key("key-nobody"),      // 5: only the hash could know it; it does not
      Key("key-broken"),      // 6: its lookup fails
      User("u2"),             // 7: an ordinary check
  };
  DecisionPlan plan = core.Plan({.request_id = "req-1"}, policy, requests);
  EXPECT_EQ(plan.key_lookups(),
            (std::vector<std::string>{"key-carol", "key-nobody", "key-broken"}));
  EXPECT_TRUE(plan.rule_checks().empty());  // not before the keys are known

  core.ResolveKeys(plan, {std::optional<std::string>("free:carol"), std::optional<std::string>(),
                          common::Status::Unavailable("down")});
  // carol (0), alice (4) and u2 (7), in request order.
  ASSERT_EQ(plan.rule_checks().size(), 3u);
  EXPECT_NE(plan.rule_checks()[0][0].key.find("carol"), std::string::npos);
  EXPECT_NE(plan.rule_checks()[1][0].key.find("alice"), std::string::npos);
  EXPECT_NE(plan.rule_checks()[2][0].key.find("u2"), std::string::npos);

  Decisions decided =
      core.Complete(std::move(plan), {Answer(9, {4}), Answer(9, {5}), Answer(9, {-1}, 1'000)});
  ASSERT_EQ(decided.results.size(), requests.size());
  const std::vector<Verdict> expected = {
      Verdict::kAllowed, Verdict::kAllowlisted,     Verdict::kDenied,   Verdict::kInvalid,
      Verdict::kAllowed, Verdict::kUnauthenticated, Verdict::kFailOpen, Verdict::kBlocked};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(decided.results[i].verdict, expected[i]) << "request " << i;
  }
  EXPECT_NE(decided.results[3].error_message.find("logins"), std::string::npos);
  // One event per decision, in request order; a client error and an unknown key are none.
  std::vector<std::string> users;
  for (const DecisionEvent& e : decided.events) users.push_back(e.user_id);
  ASSERT_EQ(users.size(), 6u);
  EXPECT_EQ(users[0], "carol");
  EXPECT_EQ(users[1], "ops");
  EXPECT_EQ(users[2], "mallory");
  EXPECT_EQ(users[3], "alice");
  EXPECT_EQ(users[4].rfind("key:", 0), 0u) << users[4];  // the failed key's label, never the key
  EXPECT_EQ(users[5], "u2");
  for (size_t i = 0; i < decided.events.size(); ++i) EXPECT_EQ(decided.events[i].sequence, i + 1);
}

// A gRPC ShouldRateLimit request's descriptors are checks with a domain: planned against the
// domain's descriptor config, and hits above the limit are a decision (over the limit), as the
// reference answers them, not a client error.
TEST_F(DecisionCoreTest, DescriptorChecksArePlannedFromTheDomainAndHitsAboveTheLimitAreDecisions) {
  DecisionCore core = Core();
  const auto policy = ActivePolicyFromYaml(kEnvoyDomain);
  DescriptorRequest check;
  check.check.user_id = "edge";
  check.check.action = "edge";
  check.domain = "edge";
  check.entries = {{"path", "/a"}};
  check.check.cost = 6;  // hits_addend above the limit of 5
  DescriptorRequest unmatched = check;
  unmatched.entries = {{"other", "x"}};
  const std::vector<DescriptorRequest> requests = {check, unmatched};
  DecisionPlan plan = core.PlanDescriptors({.request_id = "req-1"}, policy, requests);
  ASSERT_EQ(plan.rule_checks().size(), 1u);  // no limit for the unmatched descriptor
  ASSERT_EQ(plan.rule_checks()[0].size(), 1u);
  EXPECT_EQ(plan.rule_checks()[0][0].params.limit, 5);
  EXPECT_EQ(plan.rule_checks()[0][0].cost, 6);

  Decisions decided = core.Complete(std::move(plan), {Answer(3, {-1}, 0)});
  EXPECT_EQ(decided.results[0].verdict, Verdict::kBlocked);
  EXPECT_EQ(decided.results[0].limit, 5);
  EXPECT_EQ(decided.results[0].retry_after_ms, 0);  // never admitted: no retry would pass
  EXPECT_EQ(decided.results[1].verdict, Verdict::kAllowed);
  EXPECT_TRUE(decided.results[1].unlimited);
  EXPECT_EQ(decided.events.size(), 2u);
}

constexpr char kReplacingDomain[] = R"(
domain: edge
descriptors:
  - key: user
    rate_limit: {name: per-user, unit: hour, requests_per_unit: 100}
  - key: premium
    rate_limit: {unit: day, requests_per_unit: 1000, replaces: [{name: per-user}]}
)";

// One match per descriptor serves everything after it: the descriptor another one `replaces` is
// answered unlimited without a decision (no event), the replacing one is decided with its unit
// carried to the result, and a descriptor's own limit (Envoy's override) is decided in its unit.
TEST_F(DecisionCoreTest, ReplacedDescriptorsAreNoDecisionAndEveryLimitKeepsItsUnit) {
  DecisionCore core = Core();
  const auto policy = ActivePolicyFromYaml(kReplacingDomain);
  auto descriptor = [](DescriptorEntries entries) {
    DescriptorRequest r;
    r.check = User("u1", "edge");
    r.domain = "edge";
    r.entries = std::move(entries);
    return r;
  };
  DescriptorRequest own = descriptor({{"other", "x"}});
  own.own_limit.emplace();
  own.own_limit->unit = RateLimitUnit::kMinute;
  own.own_limit->requests_per_unit = 7;
  own.own_limit->name = "override";
  const std::vector<DescriptorRequest> requests = {descriptor({{"user", "u1"}}),
                                                   descriptor({{"premium", "yes"}}), own};
  DecisionPlan plan = core.PlanDescriptors({.request_id = "req-1"}, policy, requests);
  ASSERT_EQ(plan.rule_checks().size(), 2u);  // the replaced one needs no store work
  EXPECT_EQ(plan.rule_checks()[0][0].params.limit, 1000);
  EXPECT_EQ(plan.rule_checks()[1][0].params.window_ms, 60'000);

  Decisions decided = core.Complete(std::move(plan), {Answer(5, {999}), Answer(5, {6})});
  ASSERT_EQ(decided.results.size(), 3u);
  EXPECT_TRUE(decided.results[0].unlimited);
  EXPECT_EQ(decided.results[0].rule, "replaced");
  EXPECT_EQ(decided.results[1].unit, RateLimitUnit::kDay);
  EXPECT_EQ(decided.results[1].limit, 1000);
  EXPECT_EQ(decided.results[2].unit, RateLimitUnit::kMinute);
  EXPECT_EQ(decided.results[2].rule, "override");
  EXPECT_EQ(decided.events.size(), 2u);  // no event for the replaced descriptor
  ASSERT_EQ(decided.descriptor_matches.size(), 3u);
  EXPECT_TRUE(decided.descriptor_matches[0].replaced);
  EXPECT_EQ(decided.descriptor_matches[2].node, nullptr);  // matched nothing in the config
}

TEST_F(DecisionCoreTest, APlanIsCompletedOnlyWithItsOwnStoreWork) {
  DecisionCore core = Core();
  const auto policy = ActivePolicyFromYaml(kPolicy);
  const std::vector<CheckRequest> requests = {Key("key-carol")};
  DecisionPlan waiting = core.Plan({.request_id = "req-1"}, policy, requests);
  EXPECT_THROW(core.Complete(std::move(waiting), {}), std::logic_error);  // keys first
  DecisionPlan plan = core.Plan({.request_id = "req-1"}, policy, requests);
  EXPECT_THROW(core.ResolveKeys(plan, {}), std::logic_error);  // one entry per lookup
  core.ResolveKeys(plan, {std::optional<std::string>("free:carol")});
  EXPECT_THROW(core.Complete(std::move(plan), {}), std::logic_error);  // one answer per check
}

}  // namespace
}  // namespace rl::limiter
