#pragma once
// Start-up steps and settings that every binary shares.

#include <httplib.h>

#include <string>
#include <string_view>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/base/settings.h"
#include "common/base/status.h"
#include "common/http/http.h"

namespace rl::common {

// Listen address, logging and HTTP server settings of one service.
struct ServiceSettings {
  std::string host = "127.0.0.1";   // <PREFIX>_HOST
  int port = 0;                     // <PREFIX>_PORT (0: any free port)
  std::string log_level = "info";   // LOG_LEVEL
  std::string log_format = "text";  // LOG_FORMAT: text or json (one JSON object a line)
  HttpServerOptions http;           // HTTP_THREADS, HTTP_READ_TIMEOUT_MS, ...
};

// Loads <prefix>_HOST, <prefix>_PORT, LOG_LEVEL and HTTP_* over the defaults in `s`.
void LoadServiceSettings(SettingsLoader& load, const std::string& prefix, ServiceSettings* s);

// True if the first argument is --help or -h.
bool WantsHelp(int argc, char** argv);

// Prints "<service>: bad configuration: <why>" to stderr; returns exit code 2.
int ReportBadConfiguration(std::string_view service, const Status& status);

// process_start_time_seconds, the standard Prometheus gauge every binary exports.
void RegisterProcessMetrics(MetricsRegistry& metrics, const Clock& clock);


}  // namespace rl::common
