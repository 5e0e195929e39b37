// Composition root of the analytics worker. In this first slice it only serves /health and
// /metrics; consuming rl.decisions.v1 comes with the analytics issue.
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>

#include "http.h"
#include "logging.h"
#include "metrics.h"
#include "settings.h"
#include "signals.h"

using namespace rl;

namespace {

struct WorkerSettings {
  std::string host = "127.0.0.1";  // WORKER_HOST
  int port = 8090;                 // WORKER_PORT
  std::string log_level = "info";  // LOG_LEVEL
  common::HttpServerOptions http;  // HTTP_THREADS
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << "analytics-worker: folds decision events into per-user counters.\n"
                 "Settings (environment or .env): WORKER_HOST=127.0.0.1 WORKER_PORT=8090 "
                 "HTTP_THREADS=64 LOG_LEVEL=info\n";
    return 0;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) {
    std::cerr << "analytics-worker: " << env.status().message() << "\n";
    return 2;
  }
  WorkerSettings s;
  common::SettingsLoader load(env.value());
  load.String("WORKER_HOST", &s.host, true);
  load.Int("WORKER_PORT", &s.port, 0, 65535);
  load.Int("HTTP_THREADS", &s.http.threads, 1, 4096);
  load.OneOf("LOG_LEVEL", &s.log_level, {"trace", "debug", "info", "warn", "error", "off"});
  if (auto st = load.Finish(); !st.ok()) {
    std::cerr << "analytics-worker: bad configuration: " << st.message() << "\n";
    return 2;
  }
  if (auto st = common::SetupLogging("analytics-worker", s.log_level); !st.ok()) return 2;

  common::MetricsRegistry metrics;
  common::Counter& health_checks =
      metrics.AddCounter("rl_worker_health_checks_total", "GET /health requests answered");
  httplib::Server server;
  common::ConfigureServer(server, s.http);
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    health_checks.Inc();
    common::SendJson(res, 200, {{"status", "ok"}, {"service", "analytics-worker"}});
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.RenderPrometheus(), "text/plain; version=0.0.4");
  });
  return common::ServeUntilSignal(server, s.host, s.port, "analytics-worker") ? 0 : 1;
}
