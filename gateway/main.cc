// Composition root of the gateway: builds the limiter pool, the analytics Redis pool and the HTTP
// server, and serves until SIGTERM.
#include <spdlog/spdlog.h>

#include <iostream>

#include "common/analytics/analytics_query.h"
#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/periodic_thread.h"
#include "common/base/settings.h"
#include "common/base/signals.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "common/redis/redis_client.h"
#include "gateway/gateway_api.h"
#include "gateway/gateway_settings.h"
#include "gateway/limiter_pool.h"

using namespace rl;

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
  common::RedisPool redis({.endpoint = s.analytics_redis,
                           .timeout_ms = s.analytics_redis_timeout_ms,
                           .stale_retries = &metrics.AddCounter(
                               "rl_redis_stale_retries_total", "Redis calls sent again on a new connection after a pooled one was found dead", {{"redis", "analytics"}})});
  analytics::AnalyticsQuery query(redis, clock, s.analytics_minutes);
  gateway::GatewayDeps deps{limiters, query,
                            [&](int64_t* latency_us) { return redis.Ping(clock, latency_us); },
                            metrics, s.api};

  httplib::Server server;
  common::ConfigureServer(server, s.service.http, metrics, clock);
  gateway::RegisterGatewayRoutes(server, deps);
  std::string limiter_list;
  for (const auto& url : s.limiters.urls) limiter_list += (limiter_list.empty() ? "" : ",") + url;
  const std::string banner =
      fmt::format("limiters {}, analytics redis {}, fail mode {}", limiter_list,
                  s.analytics_redis.Describe(), s.api.fail_open ? "open" : "closed");
  return common::ServeUntilSignal(server, s.service.host, s.service.port, banner) ? 0 : 1;
}
