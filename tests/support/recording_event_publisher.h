#pragma once
// The in-memory EventPublisher of unit tests: keeps every event, in order.

#include <mutex>
#include <vector>

#include "common/events/event_publisher.h"

namespace rl::common {

// Keeps every event in memory. Thread-safe.
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
