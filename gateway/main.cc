// Composition root of the gateway. In this first slice it only serves /health and /metrics;
// forwarding /check, /api and /analytics come with the analytics issue.
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

struct GatewaySettings {
  std::string host = "127.0.0.1";  // GATEWAY_HOST
  int port = 3000;                 // GATEWAY_PORT
  std::string log_level = "info";  // LOG_LEVEL
  common::HttpServerOptions http;  // HTTP_THREADS
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << "gateway: front door of the rate limiter.\n"
                 "Settings (environment or .env): GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=3000 "
                 "HTTP_THREADS=64 LOG_LEVEL=info\n";
    return 0;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) {
    std::cerr << "gateway: " << env.status().message() << "\n";
    return 2;
  }
  GatewaySettings s;
  common::SettingsLoader load(env.value());
  load.String("GATEWAY_HOST", &s.host, true);
  load.Int("GATEWAY_PORT", &s.port, 0, 65535);
  load.Int("HTTP_THREADS", &s.http.threads, 1, 4096);
  load.OneOf("LOG_LEVEL", &s.log_level, {"trace", "debug", "info", "warn", "error", "off"});
  if (auto st = load.Finish(); !st.ok()) {
    std::cerr << "gateway: bad configuration: " << st.message() << "\n";
    return 2;
  }
  if (auto st = common::SetupLogging("gateway", s.log_level); !st.ok()) return 2;

  common::MetricsRegistry metrics;
  common::Counter& health_checks =
      metrics.AddCounter("rl_gateway_health_checks_total", "GET /health requests answered");
  httplib::Server server;
  common::ConfigureServer(server, s.http);
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    health_checks.Inc();
    common::SendJson(res, 200, {{"status", "ok"}, {"service", "gateway"}});
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.RenderPrometheus(), "text/plain; version=0.0.4");
  });
  return common::ServeUntilSignal(server, s.host, s.port, "gateway") ? 0 : 1;
}
