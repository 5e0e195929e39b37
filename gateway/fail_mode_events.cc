#include "gateway/fail_mode_events.h"

#include "common/base/digest.h"

namespace rl::gateway {

FailModeEvents::FailModeEvents(common::EventPublisher& publisher, std::string gateway_id,
                               bool fail_open, int64_t fail_closed_retry_after_ms,
                               const common::Clock& clock)
    : publisher_(publisher),
      gateway_id_(std::move(gateway_id)),
      fail_open_(fail_open),
      fail_closed_retry_after_ms_(fail_closed_retry_after_ms),
      clock_(clock) {}

void FailModeEvents::Publish(const common::CheckRequest& request, const std::string& request_id) {
  events::v1::Decision event;
  const uint64_t seq = sequence_.fetch_add(1) + 1;
  event.set_event_id(gateway_id_ + "-" + std::to_string(seq));
  event.set_sequence(seq);
  event.set_ts_ms(clock_.NowMs());
  event.set_user_id(request.user_id.empty() ? common::ApiKeyLabel(request.api_key)
                                            : request.user_id);
  event.set_action(request.action);
  event.set_rule("gateway");
  event.set_outcome(fail_open_ ? events::v1::OUTCOME_FAIL_OPEN : events::v1::OUTCOME_FAIL_CLOSED);
  event.set_cost(request.cost);
  event.set_limiter_id(gateway_id_);
  event.set_allowed(fail_open_);
  event.set_retry_after_ms(fail_open_ ? 0 : fail_closed_retry_after_ms_);
  event.set_request_id(request_id);
  publisher_.Publish(event);
}

}  // namespace rl::gateway
