// The ceiling for POST /check: the project's HTTP server setup (common::ConfigureServer: the same
// thread settings, TCP_NODELAY, timeouts) answering a fixed JSON body without parsing it, Redis
// or Kafka. What the limiter's HTTP layer costs at the least on this machine; bench/run loads it
// with the same generator and reports the limiter's figures against it. With EVENT_PORT, the
// same answer on the event-loop server too (common/http/event_http_server.h, TRIVIAL_THREADS
// loops, default one per core, as LIMITER_THREADS): what the limiter's event port costs at least.
//
//   trivial_server PORT [EVENT_PORT]   (HTTP_THREADS, ... as the services read them)
#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/base/settings.h"
#include "common/base/signals.h"
#include "common/http/event_http_server.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "common/loop/event_loops.h"

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
  int loop_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  load.Int("TRIVIAL_THREADS", &loop_threads, 1, 256);
  if (auto st = load.Finish(); !st.ok()) return common::ReportBadConfiguration("trivial", st);
  common::SystemClock clock;
  common::MetricsRegistry metrics;
  httplib::Server server;
  common::ConfigureServer(server, settings.http, metrics, clock);
  common::Routes routes(server);
  static constexpr const char* kAnswer =
      R"({"allowed":true,"limit":1000000,"remaining":999999,"reset_ms":1,"retry_after_ms":0,)"
      R"("rule":"default","outcome":"allowed"})";
  routes.Post("/check", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kAnswer, "application/json");
  });
  routes.Finish();
  common::EventLoops loops(loop_threads);
  std::unique_ptr<common::EventHttpServer> event_server;
  if (argc > 2) {
    event_server = std::make_unique<common::EventHttpServer>(
        loops, common::EventHttpOptions::From(settings.http, settings.http.max_body_bytes, &metrics),
        [](int, event_base*) {
          common::RouteTable table;
          table.Post("/check", [](const common::HttpRequestView&, common::HttpAnswer& answer) {
            answer.body = kAnswer;
          });
          return table;
        });
    if (!event_server->Start("127.0.0.1", std::atoi(argv[2])).ok()) {
      std::cerr << "trivial_server: cannot listen on port " << argv[2] << "\n";
      return 1;
    }
    loops.Start();
  }
  const bool served =
      common::ServeUntilSignal(server, "127.0.0.1", std::atoi(argv[1]), "trivial server");
  loops.Stop(0);
  event_server.reset();
  return served ? 0 : 1;
}
