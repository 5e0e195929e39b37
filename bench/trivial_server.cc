// The ceiling for POST /check: the project's HTTP server setup (common::ConfigureServer: the same
// thread settings, TCP_NODELAY, timeouts) answering a fixed JSON body without parsing it, Redis
// or Kafka. What the limiter's HTTP layer costs at the least on this machine; bench/run loads it
// with the same generator and reports the limiter's figures against it.
//
//   trivial_server PORT   (HTTP_THREADS, HTTP_KEEPALIVE_MAX_REQUESTS, ... as the services read)
#include <httplib.h>

#include <cstdlib>
#include <iostream>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/base/settings.h"
#include "common/base/signals.h"
#include "common/http/http.h"
#include "common/http/service.h"

using namespace rl;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: trivial_server PORT\n";
    return 2;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) return common::ReportBadConfiguration("trivial_server", env.status());
  common::ServiceSettings settings;
  common::SettingsLoader load(env.value());
  common::LoadServiceSettings(load, "TRIVIAL", &settings);
  if (auto st = load.Finish(); !st.ok()) return common::ReportBadConfiguration("trivial", st);
  common::SystemClock clock;
  common::MetricsRegistry metrics;
  httplib::Server server;
  common::ConfigureServer(server, settings.http, metrics, clock);
  common::Routes routes(server);
  routes.Post("/check", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        R"({"allowed":true,"limit":1000000,"remaining":999999,"reset_ms":1,"retry_after_ms":0,)"
        R"("rule":"default","outcome":"allowed"})",
        "application/json");
  });
  routes.Finish();
  return common::ServeUntilSignal(server, "127.0.0.1", std::atoi(argv[1]), "trivial server") ? 0
                                                                                             : 1;
}
