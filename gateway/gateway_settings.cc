#include "gateway/gateway_settings.h"

#include <algorithm>
#include <thread>

#include "common/analytics/analytics_redis.h"
#include "common/base/identifiers.h"
#include "common/kafka/kafka_producer.h"

namespace rl::gateway {

namespace {

constexpr char kHelp[] = R"(gateway: front door of the rate limiter.
  POST /check            forwarded to the limiters (round-robin, next one on failure)
  POST /api              demo route protected by the limiter
  GET  /analytics[/top|/limiters|/<user>]
Settings are environment variables (or lines of ENV_FILE / ./.env); see .env for details.
  GATEWAY_HOST=127.0.0.1  GATEWAY_PORT=3000
  GATEWAY_EVENT_PORT=0 (0: off; POST /check, /check/batch, /api on event loops)
  GATEWAY_THREADS=<cores>  (the event loops)
  LIMITER_URLS=http://127.0.0.1:8080  LIMITER_TIMEOUT_MS=1000  LIMITER_HEALTH_INTERVAL_MS=1000
  WORKER_URLS=  (analytics workers shown by GET /analytics/workers and the dashboard)
  FAIL_MODE=open|closed  FAIL_CLOSED_RETRY_AFTER_MS=1000
  ANALYTICS_REDIS_URL=<REDIS_URL>  ANALYTICS_REDIS_TIMEOUT_MS=1000  ANALYTICS_LAST_MINUTES=60
  CHECK_TOKEN=  ANALYTICS_TOKEN=  (if set, Bearer tokens of /check and /analytics)
  TRUSTED_PROXIES=  (addresses or CIDR ranges whose X-Forwarded-For is believed; empty: none)
  PROXY_ROUTES=  ("[METHOD ]/path=action, ...": GET /proxy/check's action; a trailing * is a prefix)
  PROXY_DEFAULT_ACTION=http  PROXY_USER_HEADER=X-User-Id  PROXY_API_KEY_HEADER=X-API-Key
  KAFKA_BROKERS=127.0.0.1:9092  KAFKA_TOPIC=rl.decisions.v1  GATEWAY_ID=gateway-<hostname>-<random>
    (the gateway's own fail-mode answers are published as decision events)
  HTTP_THREADS=64  HTTP_MAX_THREADS=1024  HTTP_MAX_CONNECTIONS=10000 (GATEWAY_EVENT_PORT)
  LOG_LEVEL=info  LOG_FORMAT=text (or json: one JSON object a line)
)";

}  // namespace

common::Result<GatewaySettings> LoadGatewaySettings(const common::EnvSource& env) {
  GatewaySettings s;
  common::SettingsLoader load(env);
  common::LoadServiceSettings(load, "GATEWAY", &s.service);
  std::string urls = "http://127.0.0.1:8080";
  load.String("LIMITER_URLS", &urls, true);
  std::string worker_urls;
  load.String("WORKER_URLS", &worker_urls);
  load.Int("LIMITER_TIMEOUT_MS", &s.limiters.timeout_ms, 1, 60000);
  load.Int("LIMITER_HEALTH_INTERVAL_MS", &s.limiters.health_interval_ms, 100, 3'600'000);
  std::string fail_mode = "open";
  load.OneOf("FAIL_MODE", &fail_mode, {"open", "closed"});
  load.Int("FAIL_CLOSED_RETRY_AFTER_MS", &s.api.fail_closed_retry_after_ms, 1, 3600000);
  load.Int("ANALYTICS_REDIS_TIMEOUT_MS", &s.analytics_redis_timeout_ms, 1, 60000);
  load.Int("ANALYTICS_LAST_MINUTES", &s.analytics_minutes, 1, 1440);
  load.String("CHECK_TOKEN", &s.api.check_token);
  load.String("ANALYTICS_TOKEN", &s.api.analytics_token);
  std::string trusted_proxies;
  load.String("TRUSTED_PROXIES", &trusted_proxies);
  std::string proxy_routes;
  load.String("PROXY_ROUTES", &proxy_routes);
  load.String("PROXY_DEFAULT_ACTION", &s.api.proxy.default_action, true);
  load.String("PROXY_USER_HEADER", &s.api.proxy.user_header, true);
  load.String("PROXY_API_KEY_HEADER", &s.api.proxy.api_key_header, true);
  s.gateway_id = "gateway-" + common::NewInstanceId();
  load.String("GATEWAY_ID", &s.gateway_id, true);
  common::LoadKafkaProducerOptions(load, env, &s.kafka);
  load.Int("KAFKA_FLUSH_TIMEOUT_MS", &s.kafka_flush_timeout_ms, 0, 600000);
  load.Int("GATEWAY_PROGRESS_INTERVAL_MS", &s.progress_interval_ms, 1, 60000);
  s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  load.Int("GATEWAY_EVENT_PORT", &s.event_port, 0, 65535);
  load.Int("GATEWAY_THREADS", &s.threads, 1, 256);
  if (auto st = load.Finish(); !st.ok()) return st;
  s.api.fail_open = fail_mode == "open";
  auto trusted = common::TrustedProxies::Parse(trusted_proxies);
  if (!trusted.ok()) {
    return common::Status::InvalidArgument("TRUSTED_PROXIES: " + trusted.status().message());
  }
  s.api.trusted_proxies = trusted.value();
  auto routes = ParseProxyRoutes(proxy_routes);
  if (!routes.ok()) {
    return common::Status::InvalidArgument("PROXY_ROUTES: " + routes.status().message());
  }
  s.api.proxy.routes = routes.value();
  if (!common::IsValidAction(s.api.proxy.default_action)) {
    return common::Status::InvalidArgument("PROXY_DEFAULT_ACTION: \"" +
                                           s.api.proxy.default_action +
                                           "\" is not [A-Za-z0-9_.:-]{1,64}");
  }
  for (const std::string* header : {&s.api.proxy.user_header, &s.api.proxy.api_key_header}) {
    if (!common::IsHeaderName(*header)) {
      return common::Status::InvalidArgument("PROXY_USER_HEADER/PROXY_API_KEY_HEADER: \"" +
                                             *header + "\" is no HTTP header name");
    }
  }
  auto parsed = ParseLimiterUrls(urls);
  if (!parsed.ok())
    return common::Status::InvalidArgument("LIMITER_URLS: " + parsed.status().message());
  s.limiters.urls = parsed.value();
  if (!worker_urls.empty()) {
    auto workers = ParseLimiterUrls(worker_urls);
    if (!workers.ok())
      return common::Status::InvalidArgument("WORKER_URLS: " + workers.status().message());
    s.api.worker_urls = workers.value();
  }
  s.limiters.max_idle_per_limiter = static_cast<size_t>(s.service.http.threads);
  // The largest body: a /check/batch to forward; POST /api refuses more than kMaxApiBodyBytes.
  s.service.http.max_body_bytes = kMaxForwardedBodyBytes;
  s.limiters.check_token = s.api.check_token;
  auto redis = analytics::AnalyticsRedisEndpoint(env);
  if (!redis.ok()) return redis.status();
  s.analytics_redis = redis.value();
  return s;
}

std::string GatewayHelp() { return kHelp; }

}  // namespace rl::gateway
