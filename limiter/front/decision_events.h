#pragma once
// The core's decisions on the wire: Verdict → the event's Outcome, DecisionEvent →
// rl.events.v1.Decision, published through common/events (Kafka in the limiter, a recording fake
// in tests).

#include "common/events/event_publisher.h"
#include "limiter/core/decision_event.h"
#include "limiter/core/verdict.h"
#include "proto-events/decision.pb.h"

namespace rl::limiter {

// The event outcome of a decision (OUTCOME_UNSPECIFIED for the others).
events::v1::Outcome EventOutcome(Verdict v);

// The event of one decision; its event_id is "<limiter_id>-<sequence>".
events::v1::Decision ToDecisionProto(const DecisionEvent& event);

// The core's DecisionEvents port over an event publisher. Thread-safe as the publisher is.
class PublishedDecisionEvents final : public DecisionEvents {
 public:
  explicit PublishedDecisionEvents(common::EventPublisher& publisher) : publisher_(publisher) {}
  void Publish(const DecisionEvent& event) override { publisher_.Publish(ToDecisionProto(event)); }

 private:
  common::EventPublisher& publisher_;
};

}  // namespace rl::limiter
