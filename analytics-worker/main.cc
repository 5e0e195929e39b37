// Composition root of the analytics worker. In this first slice it only serves /health and
// /metrics; consuming rl.decisions.v1 comes with the analytics issue.
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
    std::cout << "analytics-worker: folds decision events into per-user counters.\n"
                 "Settings (environment or .env): WORKER_HOST=127.0.0.1 WORKER_PORT=8090 "
                 "LOG_LEVEL=info HTTP_THREADS=64 (see .env)\n";
    return 0;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) return common::ReportBadConfiguration("analytics-worker", env.status());
  common::ServiceSettings s{.port = 8090};
  common::SettingsLoader load(env.value());
  common::LoadServiceSettings(load, "WORKER", &s);
  if (auto st = load.Finish(); !st.ok())
    return common::ReportBadConfiguration("analytics-worker", st);
  if (auto st = common::SetupLogging("analytics-worker", s.log_level); !st.ok()) {
    return common::ReportBadConfiguration("analytics-worker", st);
  }

  common::SystemClock clock;
  common::MetricsRegistry metrics;
  common::RegisterProcessMetrics(metrics, clock);
  httplib::Server server;
  common::ConfigureServer(server, s.http);
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    common::SendJson(res, 200, {{"status", "ok"}, {"service", "analytics-worker"}});
  });
  common::ServeMetrics(server, metrics);
  return common::ServeUntilSignal(server, s.host, s.port, "analytics-worker") ? 0 : 1;
}
