#pragma once
// Decision events as every producer of them publishes them (the limiter, and the gateway for its
// own fail-mode answers).

#include <mutex>
#include <vector>

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

// Keeps every event in memory; for tests.
class RecordingEventPublisher final : public EventPublisher {
 public:
  void Publish(const events::v1::Decision& decision) override {
    std::lock_guard lock(mu_);
    events_.push_back(decision);
  }
  std::vector<events::v1::Decision> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<events::v1::Decision> events_;
};

}  // namespace rl::common
