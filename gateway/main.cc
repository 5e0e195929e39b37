// Composition root of the gateway: builds the limiter pool, the analytics Redis pool and the HTTP
// server, and serves until SIGTERM.
#include <spdlog/spdlog.h>

#include <iostream>

#include "analytics_query.h"
#include "clock.h"
#include "gateway_api.h"
#include "http.h"
#include "limiter_pool.h"
#include "logging.h"
#include "metrics.h"
#include "redis_client.h"
#include "service.h"
#include "settings.h"
#include "signals.h"

using namespace rl;

namespace {

// Every setting of the gateway; defaults here, documented in .env.
struct GatewaySettings {
  common::ServiceSettings service{.port = 3000};  // GATEWAY_HOST, GATEWAY_PORT, LOG_LEVEL, HTTP_*
  gateway::LimiterPoolOptions limiters;           // LIMITER_URLS, LIMITER_TIMEOUT_MS
  gateway::GatewayOptions api;                    // FAIL_MODE, FAIL_CLOSED_RETRY_AFTER_MS
  common::RedisEndpoint analytics_redis;          // ANALYTICS_REDIS_URL, else REDIS_URL
  int analytics_redis_timeout_ms = 1000;          // ANALYTICS_REDIS_TIMEOUT_MS
  int analytics_minutes = 60;                     // ANALYTICS_LAST_MINUTES
};

common::Result<GatewaySettings> LoadGatewaySettings(const common::EnvSource& env) {
  GatewaySettings s;
  common::SettingsLoader load(env);
  common::LoadServiceSettings(load, "GATEWAY", &s.service);
  std::string urls = "http://127.0.0.1:8080";
  load.String("LIMITER_URLS", &urls, true);
  load.Int("LIMITER_TIMEOUT_MS", &s.limiters.timeout_ms, 1, 60000);
  std::string fail_mode = "open";
  load.OneOf("FAIL_MODE", &fail_mode, {"open", "closed"});
  load.Int("FAIL_CLOSED_RETRY_AFTER_MS", &s.api.fail_closed_retry_after_ms, 1, 3600000);
  load.Int("ANALYTICS_REDIS_TIMEOUT_MS", &s.analytics_redis_timeout_ms, 1, 60000);
  load.Int("ANALYTICS_LAST_MINUTES", &s.analytics_minutes, 1, 1440);
  load.String("CHECK_TOKEN", &s.api.check_token);
  load.String("ANALYTICS_TOKEN", &s.api.analytics_token);
  std::string trusted_proxies;
  load.String("TRUSTED_PROXIES", &trusted_proxies);
  if (auto st = load.Finish(); !st.ok()) return st;
  s.api.fail_open = fail_mode == "open";
  auto trusted = common::TrustedProxies::Parse(trusted_proxies);
  if (!trusted.ok()) {
    return common::Status::InvalidArgument("TRUSTED_PROXIES: " + trusted.status().message());
  }
  s.api.trusted_proxies = trusted.value();
  auto parsed = gateway::ParseLimiterUrls(urls);
  if (!parsed.ok())
    return common::Status::InvalidArgument("LIMITER_URLS: " + parsed.status().message());
  s.limiters.urls = parsed.value();
  s.limiters.max_idle_per_limiter = static_cast<size_t>(s.service.http.threads);
  s.limiters.check_token = s.api.check_token;
  auto redis = common::AnalyticsRedisEndpoint(env);
  if (!redis.ok()) return redis.status();
  s.analytics_redis = redis.value();
  return s;
}

constexpr char kHelp[] = R"(gateway: front door of the rate limiter.
  POST /check            forwarded to the limiters (round-robin, next one on failure)
  POST /api              demo route protected by the limiter
  GET  /analytics[/top|/limiters|/<user>]
Settings are environment variables (or lines of ENV_FILE / ./.env); see .env for details.
  GATEWAY_HOST=127.0.0.1  GATEWAY_PORT=3000
  LIMITER_URLS=http://127.0.0.1:8080  LIMITER_TIMEOUT_MS=1000
  FAIL_MODE=open|closed  FAIL_CLOSED_RETRY_AFTER_MS=1000
  ANALYTICS_REDIS_URL=<REDIS_URL>  ANALYTICS_REDIS_TIMEOUT_MS=1000  ANALYTICS_LAST_MINUTES=60
  CHECK_TOKEN=  ANALYTICS_TOKEN=  (if set, Bearer tokens of /check and /analytics)
  TRUSTED_PROXIES=  (addresses or CIDR ranges whose X-Forwarded-For is believed; empty: none)
  HTTP_THREADS=64  HTTP_MAX_THREADS=1024  LOG_LEVEL=info
)";

}  // namespace

int main(int argc, char** argv) {
  if (common::WantsHelp(argc, argv)) {
    std::cout << kHelp;
    return 0;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) return common::ReportBadConfiguration("gateway", env.status());
  auto settings = LoadGatewaySettings(env.value());
  if (!settings.ok()) return common::ReportBadConfiguration("gateway", settings.status());
  const GatewaySettings& s = settings.value();
  if (auto st = common::SetupLogging("gateway", s.service.log_level); !st.ok()) {
    return common::ReportBadConfiguration("gateway", st);
  }

  common::SystemClock clock;
  common::MetricsRegistry metrics;
  common::RegisterProcessMetrics(metrics, clock);
  gateway::HttpLimiterPool limiters(s.limiters, metrics, clock);
  common::RedisPool redis(
      {.endpoint = s.analytics_redis, .timeout_ms = s.analytics_redis_timeout_ms});
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
