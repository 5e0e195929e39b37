#pragma once
// The gateway's own fail-mode answers (no limiter answered) as decision events, so that analytics,
// the per-second series and the dashboard's fail-open line count every decision, the limiters'
// and these.

#include <atomic>
#include <cstdint>
#include <string>

#include "common/base/clock.h"
#include "common/check/check_request.h"
#include "common/events/event_publisher.h"

namespace rl::gateway {

// Publishes one event per fail-mode answer: outcome fail_open or fail_closed, rule "gateway",
// event id "<gateway id>-<sequence>", time from the gateway's clock (no Redis answered). A
// request with only an API key counts for the key's label (common::ApiKeyLabel): the gateway
// cannot resolve keys. Thread-safe.
class FailModeEvents {
 public:
  FailModeEvents(common::EventPublisher& publisher, std::string gateway_id, bool fail_open,
                 int64_t fail_closed_retry_after_ms, const common::Clock& clock);

  void Publish(const common::CheckRequest& request, const std::string& request_id);
  // The highest sequence handed out: how many fail-mode decisions this gateway made.
  uint64_t published() const { return sequence_.load(); }
  const std::string& gateway_id() const { return gateway_id_; }

 private:
  common::EventPublisher& publisher_;
  const std::string gateway_id_;
  const bool fail_open_;
  const int64_t fail_closed_retry_after_ms_;
  const common::Clock& clock_;
  std::atomic<uint64_t> sequence_{0};
};

}  // namespace rl::gateway
