#pragma once
// One decision as the core reports it, before any wire format: the front end's event publisher
// (limiter/front/decision_events.h) maps it to the event contract (rl.events.v1.Decision).

#include <cstdint>
#include <string>

#include "limiter/core/verdict.h"

namespace rl::limiter {

struct DecisionEvent {
  std::string limiter_id;  // LIMITER_ID: the instance that decided
  uint64_t sequence = 0;   // 1, 2, ... per instance: how many decisions it made
  int64_t ts_ms = 0;       // the store's clock when it decided
  std::string user_id;
  std::string action;
  std::string rule;
  Verdict verdict = Verdict::kAllowed;  // always a decision (IsDecision)
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t cost = 0;
  int64_t retry_after_ms = 0;
  int64_t reset_ms = 0;
  std::string request_id;
};

// Where the core hands its decisions, one call per decision. Never blocks on a broker and never
// fails the caller: an event that cannot be sent is dropped, counted and logged by the
// implementation. Thread-safe.
class DecisionEvents {
 public:
  virtual ~DecisionEvents() = default;
  virtual void Publish(const DecisionEvent& event) = 0;
};

}  // namespace rl::limiter
