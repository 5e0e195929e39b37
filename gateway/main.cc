// Composition root of the gateway: builds the limiter pool, the analytics Redis pool, the Kafka
// producer of its own fail-mode decisions and the HTTP server, and serves until SIGTERM.
#include <spdlog/spdlog.h>

#include <iostream>

#include "common/analytics/analytics_query.h"
#include "common/analytics/limiter_ledger.h"
#include "common/analytics/progress_recorder.h"
#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/periodic_thread.h"
#include "common/base/settings.h"
#include "common/base/signals.h"
#include "common/events/kafka_event_publisher.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "common/kafka/kafka_producer.h"
#include "common/redis/redis_client.h"
#include "gateway/gateway_api.h"
#include "gateway/gateway_settings.h"
#include "common/http/event_http_server.h"
#include "common/http/slow_request_reaper.h"
#include "common/loop/event_loops.h"
#include "gateway/event_limiter_pool.h"
#include "gateway/limiter_pool.h"

using namespace rl;

namespace {

// Each event loop's keep-alive connections to the limiters (none with GATEWAY_EVENT_PORT off).
std::vector<std::unique_ptr<gateway::EventLimiterPool>> PoolsOnLoops(
    const gateway::GatewaySettings& s, common::EventLoops& loops,
    gateway::HttpLimiterPool& limiters) {
  std::vector<std::unique_ptr<gateway::EventLimiterPool>> pools;
  if (s.event_port == 0) return pools;
  for (int i = 0; i < loops.size(); ++i) {
    pools.push_back(std::make_unique<gateway::EventLimiterPool>(loops.base(i), limiters));
  }
  return pools;
}

// POST /check, /check/batch and /api on the event loops at GATEWAY_EVENT_PORT (null: off), each
// loop forwarding through its own pool.
common::Result<std::unique_ptr<common::EventHttpServer>> ForwardOnEventLoops(
    const gateway::GatewaySettings& s, common::EventLoops& loops, gateway::GatewayDeps& deps,
    const std::vector<std::unique_ptr<gateway::EventLimiterPool>>& pools,
    common::MetricsRegistry& metrics, common::SlowRequestReaper& reaper) {
  if (pools.empty()) return std::unique_ptr<common::EventHttpServer>();
  auto server = std::make_unique<common::EventHttpServer>(
      loops,
      common::EventHttpOptions::From(s.service.http, gateway::kMaxForwardedBodyBytes, &metrics),
      [&](int loop, event_base*) {
        common::RouteTable routes = gateway::ForwardingRoutes(deps, *pools[loop]);
        common::AddMetricsAndLiveness(routes, metrics);
        return routes;
      });
  auto port = server->Start(s.service.host, s.event_port);
  if (!port.ok()) return port.status();
  reaper.Watch(server->listen_fd());  // a total deadline per request (slowloris)
  spdlog::info("listening on {}:{} (POST /check, /check/batch, /api on {} event loops)",
               s.service.host, port.value(), loops.size());
  return server;
}

}  // namespace

int main(int argc, char** argv) {
  if (common::WantsHelp(argc, argv)) {
    std::cout << gateway::GatewayHelp();
    return 0;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) return common::ReportBadConfiguration("gateway", env.status());
  auto settings = gateway::LoadGatewaySettings(env.value());
  if (!settings.ok()) return common::ReportBadConfiguration("gateway", settings.status());
  const gateway::GatewaySettings& s = settings.value();
  if (auto st = common::SetupLogging("gateway", s.service.log_level, s.service.log_format);
      !st.ok()) {
    return common::ReportBadConfiguration("gateway", st);
  }

  common::SystemClock clock;
  common::MetricsRegistry metrics;
  common::RegisterProcessMetrics(metrics, clock);
  gateway::HttpLimiterPool limiters(s.limiters, metrics, clock);
  // Names re-resolved (a scaled service's replicas come and go) and every limiter health-checked.
  common::PeriodicThread check_limiters(s.limiters.health_interval_ms,
                                        [&limiters] { limiters.Refresh(); });
  common::RedisPool redis(
      {.endpoint = s.analytics_redis,
       .timeout_ms = s.analytics_redis_timeout_ms,
       .stale_retries = &common::StaleRetriesCounter(metrics, "analytics")});
  analytics::AnalyticsQuery query(redis, clock, s.analytics_minutes);
  // The gateway's own fail-mode answers are decisions: published like the limiters' (never
  // waiting on Kafka), with a ledger record like theirs, so analytics count them exactly.
  const common::KafkaProducerMetrics producer_metrics =
      common::RegisterKafkaProducerMetrics(metrics);
  auto producer = common::KafkaProducer::Create(s.kafka, producer_metrics, clock);
  if (!producer.ok()) return common::ReportBadConfiguration("gateway", producer.status());
  common::KafkaEventPublisher publisher(*producer.value(), metrics, clock);
  gateway::FailModeEvents fail_mode_events(publisher, s.gateway_id, s.api.fail_open,
                                           s.api.fail_closed_retry_after_ms, clock);
  analytics::RedisLimiterLedger ledger(redis, s.progress_interval_ms);
  analytics::ProgressRecorder progress(
      ledger, s.gateway_id, [&fail_mode_events] { return fail_mode_events.published(); }, clock,
      metrics);
  common::PeriodicThread record_progress(s.progress_interval_ms, [&progress] { progress.Tick(); });
  gateway::GatewayDeps deps{
      limiters, query, [&](int64_t* latency_us) { return redis.Ping(clock, latency_us); },
      metrics,  s.api, &fail_mode_events};

  httplib::Server server;
  common::ConfigureServer(server, s.service.http, metrics, clock);
  common::MountRoutes(server, gateway::GatewayRoutes(deps));
  std::string limiter_list;
  for (const auto& url : s.limiters.urls) limiter_list += (limiter_list.empty() ? "" : ",") + url;
  const std::string banner = fmt::format(
      "limiters {}, analytics redis {}, fail mode {}, kafka {} (fail-mode events), id {}",
      limiter_list, s.analytics_redis.Describe(), s.api.fail_open ? "open" : "closed",
      s.kafka.brokers, s.gateway_id);
  // The event-driven path (GATEWAY_EVENT_PORT): the pools outlive the server's routes, the loops
  // outlive both.
  common::EventLoops loops(s.threads);
  const auto pools = PoolsOnLoops(s, loops, limiters);
  common::SlowRequestReaper event_reaper(s.service.http.request_timeout_ms, metrics, clock);
  auto event_server = ForwardOnEventLoops(s, loops, deps, pools, metrics, event_reaper);
  if (!event_server.ok()) {
    spdlog::error("GATEWAY_EVENT_PORT: {}", event_server.status().message());
    return 1;
  }
  loops.Start();
  const bool served = common::ServeUntilSignal(server, s.service.host, s.service.port, banner);
  loops.Stop(200);
  const int64_t left = producer.value()->Flush(s.kafka_flush_timeout_ms);
  if (left > 0) {
    spdlog::warn(
        "events: {} fail-mode events not delivered within KAFKA_FLUSH_TIMEOUT_MS={} are "
        "lost",
        left, s.kafka_flush_timeout_ms);
  }
  record_progress.Stop();
  progress.Finish();
  return served ? 0 : 1;
}
