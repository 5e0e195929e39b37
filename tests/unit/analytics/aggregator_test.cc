#include "analytics-worker/aggregator.h"

#include <gtest/gtest.h>

#include "common/analytics/analytics_keys.h"

namespace rl::analytics {
namespace {

using Kind = AnalyticsOp::Kind;

events::v1::Decision Decision(const std::string& user, bool allowed, int64_t ts_ms,
                              events::v1::Outcome outcome, const std::string& action = "login") {
  events::v1::Decision d;
  d.set_user_id(user);
  d.set_allowed(allowed);
  d.set_ts_ms(ts_ms);
  d.set_outcome(outcome);
  d.set_action(action);
  return d;
}

int64_t Sum(const std::vector<AnalyticsOp>& ops, Kind kind, const std::string& key,
            const std::string& field) {
  int64_t n = 0, matches = 0;
  for (const auto& op : ops) {
    if (op.kind == kind && op.key == key && op.field == field) n += op.amount, ++matches;
  }
  EXPECT_LE(matches, 1) << key << " " << field << " appears more than once";
  return n;
}

TEST(AggregateDecisions, CountsTotalsVerdictsOutcomesAndActionsPerUser) {
  const int64_t t = 1'700'000'000'000;
  auto ops = AggregateDecisions({Decision("u1", true, t, events::v1::OUTCOME_ALLOWED),
                                 Decision("u1", false, t, events::v1::OUTCOME_BLOCKED),
                                 Decision("u1", true, t, events::v1::OUTCOME_FAIL_OPEN, "search"),
                                 Decision("u2", false, t, events::v1::OUTCOME_FAIL_CLOSED)},
                                1440);
  const std::string u1 = UserKey("u1");
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "total"), 3);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "allowed"), 2);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "blocked"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "o:fail_open"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "a:login:allowed"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "a:login:blocked"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "a:search:allowed"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, kGlobalKey, "total"), 4);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, kGlobalKey, "blocked"), 2);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, kGlobalKey, "o:fail_closed"), 1);
  EXPECT_EQ(Sum(ops, Kind::kSortedSetIncrBy, kTopBlockedKey, "u1"), 1);
  EXPECT_EQ(Sum(ops, Kind::kSortedSetIncrBy, kTopBlockedKey, "u2"), 1);
}

TEST(AggregateDecisions, BucketsByEventMinuteAndExpiresAfterTheRetention) {
  const int64_t minute = 28'333'333;
  auto ops = AggregateDecisions(
      {Decision("u1", true, minute * 60000 + 59'999, events::v1::OUTCOME_ALLOWED),
       Decision("u1", false, (minute + 1) * 60000, events::v1::OUTCOME_BLOCKED)},
      10);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, UserMinuteKey("u1", minute), "allowed"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, UserMinuteKey("u1", minute + 1), "blocked"), 1);
  EXPECT_EQ(Sum(ops, Kind::kExpireAt, UserMinuteKey("u1", minute), ""), (minute + 1 + 10) * 60);
  // Expiry comes after the increments of the same key, so a bucket is never left without one.
  EXPECT_EQ(ops.back().kind, Kind::kExpireAt);
}

TEST(AggregateDecisions, CountsEventsAndTheHighestSequencePerLimiter) {
  auto with_id = [](const std::string& limiter, const std::string& event_id) {
    events::v1::Decision d = Decision("u", true, 0, events::v1::OUTCOME_ALLOWED);
    d.set_limiter_id(limiter);
    d.set_event_id(event_id);
    return d;
  };
  auto ops = AggregateDecisions({with_id("host-a1", "host-a1-7"), with_id("host-a1", "host-a1-9"),
                                 with_id("b", "b-1"), with_id("c", "c-x"), with_id("d", "e-4")},
                                60);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, LimiterLedgerKey("host-a1"), "seen"), 2);
  EXPECT_EQ(Sum(ops, Kind::kHashMax, LimiterLedgerKey("host-a1"), "max_sequence"), 9);
  EXPECT_EQ(Sum(ops, Kind::kHashMax, LimiterLedgerKey("b"), "max_sequence"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, LimiterLedgerKey("c"), "seen"), 0);  // not "<id>-<number>"
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, LimiterLedgerKey("d"), "seen"), 0);
  EXPECT_EQ(Sum(ops, Kind::kSetAdd, kLimitersKey, "host-a1"), 0);  // present once
}

TEST(AggregateDecisions, CountsWhichRulesRefusedPerUserAndOverall) {
  auto with_rule = [](bool allowed, events::v1::Outcome outcome, const std::string& rule) {
    events::v1::Decision d = Decision("u1", allowed, 0, outcome);
    d.set_rule(rule);
    return d;
  };
  auto ops = AggregateDecisions({with_rule(false, events::v1::OUTCOME_BLOCKED, "per-user"),
                                 with_rule(false, events::v1::OUTCOME_BLOCKED, "per-user"),
                                 with_rule(false, events::v1::OUTCOME_BANNED, "per-user"),
                                 with_rule(true, events::v1::OUTCOME_SHADOW_BLOCKED, "trial"),
                                 with_rule(true, events::v1::OUTCOME_ALLOWED, "per-user"),
                                 with_rule(false, events::v1::OUTCOME_DENIED, "deny_list"),
                                 with_rule(false, events::v1::OUTCOME_FAIL_CLOSED, "fail_mode")},
                                60);
  const std::string u1 = UserKey("u1");
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "r:per-user:blocked"), 2);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "r:per-user:banned"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "r:trial:shadow_blocked"), 1);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, u1, "r:per-user:allowed"), 0);
  EXPECT_EQ(Sum(ops, Kind::kSortedSetIncrBy, kTopRulesKey, "per-user"), 3);
  EXPECT_EQ(Sum(ops, Kind::kSortedSetIncrBy, kTopRulesKey, "trial"), 0);  // admitted
  // The deny list and the fail mode refuse, but are no rules: never in the top rules.
  EXPECT_EQ(Sum(ops, Kind::kSortedSetIncrBy, kTopRulesKey, "deny_list"), 0);
  EXPECT_EQ(Sum(ops, Kind::kSortedSetIncrBy, kTopRulesKey, "fail_mode"), 0);
}

TEST(AggregateDecisions, CountsEverySecondByOutcomeForTheLiveSeries) {
  const int64_t second = 1'700'000'000;
  auto ops =
      AggregateDecisions({Decision("u1", true, second * 1000, events::v1::OUTCOME_ALLOWED),
                          Decision("u2", true, second * 1000 + 999, events::v1::OUTCOME_ALLOWED),
                          Decision("u1", false, second * 1000 + 1000, events::v1::OUTCOME_BLOCKED)},
                         60);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, GlobalSecondKey(second), "allowed"), 2);
  EXPECT_EQ(Sum(ops, Kind::kHashIncrBy, GlobalSecondKey(second + 1), "blocked"), 1);
  EXPECT_EQ(Sum(ops, Kind::kExpireAt, GlobalSecondKey(second), ""),
            second + 1 + kSeriesRetentionSeconds);
}

TEST(AggregateDecisions, EmptyBatchWritesNothing) {
  EXPECT_TRUE(AggregateDecisions({}, 1440).empty());
}

TEST(AnalyticsKeys, EscapeUserIdsLikeTheLimiter) {
  EXPECT_EQ(UserKey("a}b"), "rla:u:{a%7Db}");
  EXPECT_NE(UserKey("a:m:1"), UserMinuteKey("a", 1));
  EXPECT_NE(UserMinuteKey("a}:m:1", 2), UserMinuteKey("a", 1));
}

}  // namespace
}  // namespace rl::analytics

namespace rl::analytics {
namespace {

TEST(EventSequence, IsTheEventsFieldAndForOlderEventsTheNumberInItsId) {
  events::v1::Decision d;
  d.set_limiter_id("lim-a");
  d.set_event_id("whatever");
  d.set_sequence(42);
  EXPECT_EQ(EventSequence(d), 42);  // the field, not parsed from the id
  d.set_sequence(0);
  EXPECT_EQ(EventSequence(d), std::nullopt);
  d.set_event_id("lim-a-17");  // an event from before the field
  EXPECT_EQ(EventSequence(d), 17);
}

}  // namespace
}  // namespace rl::analytics
