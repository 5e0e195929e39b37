#include "common/base/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/base/iso_time.h"
#include "common/base/request_id.h"

namespace rl::common {

namespace {

// Quotes a string as JSON; bytes that are not UTF-8 become U+FFFD.
std::string Quote(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// LOG_FORMAT=json.
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string service) : service_(std::move(service)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const std::string line =
        JsonLogLine(IsoUtcMs(ms),
                    std::string(spdlog::level::to_string_view(msg.level).data(),
                                spdlog::level::to_string_view(msg.level).size()),
                    service_, std::string(msg.payload.data(), msg.payload.size()),
                    CurrentRequestId()) +
        "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(service_);
  }

 private:
  const std::string service_;
};

// %q in the text pattern: " request_id=<id>" while a request is handled.
class RequestIdFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string& id = CurrentRequestId();
    if (id.empty()) return;
    static constexpr std::string_view kPrefix = " request_id=";
    dest.append(kPrefix.data(), kPrefix.data() + kPrefix.size());
    dest.append(id.data(), id.data() + id.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

}  // namespace

std::string JsonLogLine(const std::string& ts, const std::string& level, const std::string& service,
                        const std::string& message, const std::string& request_id) {
  std::string line = "{\"ts\":" + Quote(ts) + ",\"level\":" + Quote(level) +
                     ",\"service\":" + Quote(service) + ",\"msg\":" + Quote(message);
  if (!request_id.empty()) line += ",\"request_id\":" + Quote(request_id);
  return line + "}";
}

Status SetupLogging(const std::string& service, const std::string& level,
                    const std::string& format) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("LOG_LEVEL=\"" + level +
                                   "\": expected trace|debug|info|warn|error|off");
  }
  if (format != "text" && format != "json") {
    return Status::InvalidArgument("LOG_FORMAT=\"" + format + "\": expected text|json");
  }
  auto logger = spdlog::stderr_logger_mt(service);
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>(service));
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<RequestIdFlag>('q').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [" +
                                                        service + "] %v%q");
    logger->set_formatter(std::move(formatter));
  }
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
