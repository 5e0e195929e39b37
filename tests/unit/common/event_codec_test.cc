#include "proto-events/event_codec.h"

#include <gtest/gtest.h>

#include <set>

namespace rl::events {
namespace {

TEST(EventCodec, RoundTripsEveryField) {
  v1::Decision d;
  d.set_event_id("lim-1-7");
  d.set_ts_ms(1700000000123);
  d.set_user_id("u1");
  d.set_action("login");
  d.set_rule("default");
  d.set_outcome(v1::OUTCOME_BLOCKED);
  d.set_limit(10);
  d.set_remaining(0);
  d.set_cost(2);
  d.set_limiter_id("lim-1");
  auto back = DecodeDecision(EncodeDecision(d));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->SerializeAsString(), d.SerializeAsString());
  EXPECT_EQ(OutcomeName(back->outcome()), "blocked");
}

TEST(EventCodec, RejectsGarbageAndEventsWithoutAUser) {
  EXPECT_FALSE(DecodeDecision("\xff\xff\xff").has_value());
  EXPECT_FALSE(DecodeDecision(EncodeDecision(v1::Decision())).has_value());
}

}  // namespace
}  // namespace rl::events

namespace rl::events {
namespace {

// Which outcomes admit is defined once (common/base/outcomes.h); the events, the limiter's
// verdicts and the analytics all read it from there.
TEST(OutcomeAdmits, AllowedShadowBlockedAllowlistedAndFailOpenAdmitNothingElseDoes) {
  const std::set<v1::Outcome> admit = {v1::OUTCOME_ALLOWED, v1::OUTCOME_SHADOW_BLOCKED,
                                       v1::OUTCOME_ALLOWLISTED, v1::OUTCOME_FAIL_OPEN};
  for (int o = v1::Outcome_MIN; o <= v1::Outcome_MAX; ++o) {
    if (!v1::Outcome_IsValid(o)) continue;
    const auto outcome = static_cast<v1::Outcome>(o);
    EXPECT_EQ(OutcomeAdmits(outcome), admit.count(outcome) == 1) << OutcomeName(outcome);
  }
}

}  // namespace
}  // namespace rl::events
