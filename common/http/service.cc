#include "common/http/service.h"

#include <cstring>
#include <iostream>

#include "common/base/callback_guard.h"

namespace rl::common {

void LoadServiceSettings(SettingsLoader& load, const std::string& prefix, ServiceSettings* s) {
  load.String((prefix + "_HOST").c_str(), &s->host, true);
  load.Int((prefix + "_PORT").c_str(), &s->port, 0, 65535);
  load.OneOf("LOG_LEVEL", &s->log_level, {"trace", "debug", "info", "warn", "error", "off"});
  load.OneOf("LOG_FORMAT", &s->log_format, {"text", "json"});
  load.Int("HTTP_THREADS", &s->http.threads, 1, 4096);
  load.Int("HTTP_MAX_THREADS", &s->http.max_threads, 1, 65536);
  load.Int("HTTP_READ_TIMEOUT_MS", &s->http.read_timeout_ms, 1, 600000);
  load.Int("HTTP_REQUEST_TIMEOUT_MS", &s->http.request_timeout_ms, 1000, 3600000);
  load.Int("HTTP_WRITE_TIMEOUT_MS", &s->http.write_timeout_ms, 1, 600000);
  load.Int("HTTP_KEEPALIVE_TIMEOUT_S", &s->http.keep_alive_timeout_s, 1, 3600);
  load.Int("HTTP_KEEPALIVE_MAX_REQUESTS", &s->http.keep_alive_max_requests, 1, 10'000'000);
  load.Int("HTTP_MAX_CONNECTIONS", &s->http.max_connections, 1, 1'000'000);
}

bool WantsHelp(int argc, char** argv) {
  return argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0);
}

int ReportBadConfiguration(std::string_view service, const Status& status) {
  std::cerr << service << ": bad configuration: " << status.message() << "\n";
  return 2;
}

void RegisterProcessMetrics(MetricsRegistry& metrics, const Clock& clock) {
  metrics.AddGauge("process_start_time_seconds", "Start time of the process since the Unix epoch")
      .Set(clock.NowMs() / 1000);
  metrics.AddGaugeFn("rl_callback_exceptions",
                     "Exceptions stopped at the edge of a C library callback (never expected)", {},
                     [] { return static_cast<double>(CallbackExceptions()); });
}

}  // namespace rl::common
