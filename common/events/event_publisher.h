#pragma once
// Decision events as every producer of them publishes them (the limiter, and the gateway for its
// own fail-mode answers).

#include "proto-events/decision.pb.h"

namespace rl::common {

// Publishes one event per decision. Publish() never blocks on the broker and never fails the
// caller: an event that cannot be queued is dropped, counted and logged by the implementation.
// Thread-safe.
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  virtual void Publish(const events::v1::Decision& decision) = 0;
};

}  // namespace rl::common
