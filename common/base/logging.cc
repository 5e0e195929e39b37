#include "common/base/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace rl::common {

Status SetupLogging(const std::string& service, const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("LOG_LEVEL=\"" + level +
                                   "\": expected trace|debug|info|warn|error|off");
  }
  auto logger = spdlog::stderr_logger_mt(service);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [" + service + "] %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

bool LogThrottle::ShouldLog(uint64_t* suppressed) {
  int64_t now = clock_.MonotonicUs();
  int64_t next = next_us_.load(std::memory_order_relaxed);
  if (now >= next && next_us_.compare_exchange_strong(next, now + interval_us_)) {
    *suppressed = suppressed_.exchange(0);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace rl::common
