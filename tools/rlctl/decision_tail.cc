#include "tools/rlctl/decision_tail.h"

#include "common/kafka/kafka_tail.h"
#include "proto-events/event_codec.h"

namespace rl::rlctl {

common::Status TailDecisions(const std::string& brokers, const std::string& topic,
                             const std::map<std::string, std::string>& security,
                             std::chrono::milliseconds duration,
                             const std::function<bool(const events::v1::Decision&)>& on_event) {
  return common::TailTopic({.brokers = brokers, .topic = topic, .extra_config = security},
                           duration, [&on_event](std::string_view payload) {
                             auto d = events::DecodeDecision(payload);
                             return d ? on_event(*d) : true;  // not a decision: skipped
                           });
}

}  // namespace rl::rlctl
