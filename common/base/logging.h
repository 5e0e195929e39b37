#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/base/clock.h"
#include "common/base/status.h"

namespace rl::common {

// Configures spdlog's default logger: stderr, one line per event, level from LOG_LEVEL
// (trace|debug|info|warn|error). LOG_FORMAT `text`: "<time> <level> [<service>] <message>", with
// " request_id=<id>" while a request is handled; `json`: one JSON object a line, {"ts", "level",
// "service", "msg", "request_id" (while a request is handled)}.
Status SetupLogging(const std::string& service, const std::string& level,
                    const std::string& format = "text");

// One log line as LOG_FORMAT=json writes it (without the newline). Pure.
std::string JsonLogLine(const std::string& ts, const std::string& level, const std::string& service,
                        const std::string& message, const std::string& request_id);

// Lets a hot-path warning through at most once per interval and reports how many were
// suppressed in between, so a dead dependency cannot flood the log. Thread-safe.
class LogThrottle {
 public:
  explicit LogThrottle(const Clock& clock, int64_t interval_ms = 1000)
      : clock_(clock), interval_us_(interval_ms * 1000) {}

  // True if the caller should log now; *suppressed gets the count skipped since the last one.
  bool ShouldLog(uint64_t* suppressed);

 private:
  const Clock& clock_;
  const int64_t interval_us_;
  std::atomic<int64_t> next_us_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace rl::common
