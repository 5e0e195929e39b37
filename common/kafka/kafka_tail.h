#pragma once
// Reading a topic as it is written, with no consumer group: every partition from its end, so it
// takes nothing from the analytics workers (rlctl tail). The same connection and security
// settings as the services' clients.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace rl::common {

struct KafkaTailOptions {
  std::string brokers;
  std::string topic;
  std::map<std::string, std::string> extra_config;  // KafkaSecurityConfig(env), as the services'
};

// Calls `on_message` with each new message's payload until it returns false or `duration` has
// passed (zero: no limit; the wait for the brokers is bounded by it too). An error when the
// brokers or the topic cannot be reached.
Status TailTopic(const KafkaTailOptions& options, std::chrono::milliseconds duration,
                 const std::function<bool(std::string_view payload)>& on_message);

}  // namespace rl::common
