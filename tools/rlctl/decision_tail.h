#pragma once
// Decision events as they happen: reads every partition of the topic from its end (no consumer
// group, so it takes nothing from the analytics workers).

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "common/base/status.h"
#include "proto-events/decision.pb.h"

namespace rl::rlctl {

// Calls `on_event` for each new decision until it returns false or `duration` has passed (zero:
// no limit). `security`: the KAFKA_SECURITY_* settings, as the services read them
// (common::KafkaSecurityConfig). An error when the brokers or the topic cannot be reached.
common::Status TailDecisions(const std::string& brokers, const std::string& topic,
                             const std::map<std::string, std::string>& security,
                             std::chrono::milliseconds duration,
                             const std::function<bool(const events::v1::Decision&)>& on_event);

}  // namespace rl::rlctl
