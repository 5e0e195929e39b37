// Composition root of the gateway. In this first slice it only serves /health and /metrics;
// forwarding /check, /api and /analytics come with the analytics issue.
#include <iostream>

#include "clock.h"
#include "http.h"
#include "logging.h"
#include "metrics.h"
#include "service.h"
#include "settings.h"
#include "signals.h"

using namespace rl;

int main(int argc, char** argv) {
  if (common::WantsHelp(argc, argv)) {
    std::cout << "gateway: front door of the rate limiter.\n"
                 "Settings (environment or .env): GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=3000 "
                 "LOG_LEVEL=info HTTP_THREADS=64 (see .env)\n";
    return 0;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) return common::ReportBadConfiguration("gateway", env.status());
  common::ServiceSettings s{.port = 3000};
  common::SettingsLoader load(env.value());
  common::LoadServiceSettings(load, "GATEWAY", &s);
  if (auto st = load.Finish(); !st.ok()) return common::ReportBadConfiguration("gateway", st);
  if (auto st = common::SetupLogging("gateway", s.log_level); !st.ok()) {
    return common::ReportBadConfiguration("gateway", st);
  }

  common::SystemClock clock;
  common::MetricsRegistry metrics;
  common::RegisterProcessMetrics(metrics, clock);
  httplib::Server server;
  common::ConfigureServer(server, s.http);
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    common::SendJson(res, 200, {{"status", "ok"}, {"service", "gateway"}});
  });
  common::ServeMetrics(server, metrics);
  return common::ServeUntilSignal(server, s.host, s.port, "gateway") ? 0 : 1;
}
