#include "proto-events/event_codec.h"

#include <gtest/gtest.h>

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
