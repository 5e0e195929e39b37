#include "limiter/limiter_settings.h"

#include <algorithm>
#include <thread>

#include "common/analytics/analytics_redis.h"
#include "common/base/identifiers.h"
#include "common/kafka/kafka_producer.h"

namespace rl::limiter {

common::Result<LimiterSettings> LoadLimiterSettings(const common::EnvSource& env) {
  LimiterSettings s;
  s.options.limiter_id = common::NewInstanceId();
  common::SettingsLoader load(env);
  common::LoadServiceSettings(load, "LIMITER", &s.service);
  std::string redis_url = "redis://127.0.0.1:6379";
  load.String("REDIS_URL", &redis_url, true);
  load.OneOf("REDIS_MODE", &s.redis_mode, {"standalone", "cluster"});
  load.Int("REDIS_TIMEOUT_MS", &s.redis_timeout_ms, 1, 60000);
  load.Int("BLOCKED_CACHE_ENTRIES", &s.blocked_cache_entries, 0, 100'000'000);
  load.Int("REDIS_BREAKER_FAILURES", &s.breaker.failure_threshold, 1, 1000000);
  load.Int("REDIS_BREAKER_OPEN_MS", &s.breaker.open_ms, 1, 3600000);
  load.OneOf("FAIL_MODE", &s.fail_mode, {"open", "closed"});
  load.Int("FAIL_CLOSED_RETRY_AFTER_MS", &s.options.fail_closed_retry_after_ms, 1, 3600000);
  load.Int("DEFAULT_CAPACITY", &s.default_capacity, 1, 1'000'000'000);
  load.Double("DEFAULT_REFILL_PER_SEC", &s.default_refill_per_sec, 0.0, 1e9);
  s.limits_file_required = env.Find("LIMITS_FILE") != nullptr;
  s.defaults_set =
      env.Find("DEFAULT_CAPACITY") != nullptr || env.Find("DEFAULT_REFILL_PER_SEC") != nullptr;
  load.String("LIMITS_FILE", &s.limits_file, true);
  load.Int("LIMITS_RELOAD_INTERVAL_MS", &s.limits_reload_interval_ms, 100, 3'600'000);
  load.String("ADMIN_TOKEN", &s.admin_token);
  load.String("CHECK_TOKEN", &s.check_token);
  load.String("LIMITER_ID", &s.options.limiter_id, true);
  common::LoadKafkaProducerOptions(load, env, &s.kafka);
  load.Int("KAFKA_FLUSH_TIMEOUT_MS", &s.kafka_flush_timeout_ms, 0, 600000);
  load.Int("HEALTH_KAFKA_TIMEOUT_MS", &s.health_kafka_timeout_ms, 1, 60000);
  load.Int("KAFKA_STARTUP_WAIT_MS", &s.kafka_startup_wait_ms, 0, 600000);
  load.Int("ANALYTICS_REDIS_TIMEOUT_MS", &s.analytics_redis_timeout_ms, 1, 60000);
  load.Int("LIMITER_PROGRESS_INTERVAL_MS", &s.progress_interval_ms, 1, 60000);
  load.Int("GRPC_PORT", &s.grpc_port, 0, 65535);
  load.Int("GRPC_MAX_CONCURRENT_STREAMS", &s.grpc_max_concurrent_streams, 1, 100000);
  s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  load.Int("LIMITER_EVENT_PORT", &s.event_port, 0, 65535);
  load.Int("LIMITER_THREADS", &s.threads, 1, 256);
  std::string user_keys = "user_id,remote_address";
  load.String("DESCRIPTOR_USER_KEYS", &user_keys);
  // The reference service's header settings (envoyproxy/ratelimit), by its names.
  RlsHeaderOptions& headers = s.rls.headers;
  load.Bool("LIMIT_RESPONSE_HEADERS_ENABLED", &headers.reference);
  for (auto [name, field] : {std::pair{"LIMIT_LIMIT_HEADER", &headers.limit_header},
                             std::pair{"LIMIT_REMAINING_HEADER", &headers.remaining_header},
                             std::pair{"LIMIT_RESET_HEADER", &headers.reset_header}}) {
    load.String(name, field, true);
  }
  load.Bool("RLS_EXTENDED_HEADERS", &headers.extended);
  load.Bool("SHADOW_MODE", &s.rls.global_shadow_mode);
  load.Bool("LIMITS_IGNORE_DOTFILES", &s.limits_ignore_dotfiles);
  load.Double("DESCRIPTOR_NEAR_LIMIT_RATIO", &s.descriptor_near_limit_ratio, 0.0, 1.0);
  load.Bool("HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED", &s.ready_needs_a_domain);
  load.String("LIMITS_XDS_SERVER", &s.xds.server);
  load.String("LIMITS_XDS_NODE_ID", &s.xds.node_id, true);
  load.Int("LIMITS_XDS_RETRY_MS", &s.xds.retry_ms, 10, 3'600'000);
  load.Bool("LIMITS_XDS_FORCE_START", &s.xds_force_start);
  if (auto status = load.Finish(); !status.ok()) return status;
  for (auto [name, value] : {std::pair{"LIMIT_LIMIT_HEADER", headers.limit_header},
                             std::pair{"LIMIT_REMAINING_HEADER", headers.remaining_header},
                             std::pair{"LIMIT_RESET_HEADER", headers.reset_header}}) {
    if (!common::IsHeaderName(value)) {
      return common::Status::InvalidArgument(std::string(name) + "=\"" + value +
                                             "\": is no HTTP header name");
    }
  }
  s.rls.user_keys.clear();
  for (std::string_view key : common::SplitList(user_keys)) s.rls.user_keys.emplace_back(key);
  if (s.event_port != 0 && s.redis_mode == "cluster") {
    return common::Status::InvalidArgument(
        "LIMITER_EVENT_PORT: needs REDIS_MODE=standalone (the event loops' store does not speak "
        "the cross-slot protocol yet)");
  }
  if (s.redis_mode == "cluster") {
    // Seed nodes, comma-separated; analytics stay on a standalone Redis (docs/scaling.md).
    size_t start = 0;
    while (start <= redis_url.size()) {
      size_t comma = redis_url.find(',', start);
      if (comma == std::string::npos) comma = redis_url.size();
      auto seed = common::ParseRedisUrl(std::string_view(redis_url).substr(start, comma - start));
      if (!seed.ok()) {
        return common::Status::InvalidArgument("REDIS_URL: seed \"" +
                                               redis_url.substr(start, comma - start) +
                                               "\": " + seed.status().message());
      }
      if (seed->db != 0) {
        return common::Status::InvalidArgument("REDIS_URL: a Redis Cluster has only database 0");
      }
      s.redis_seeds.push_back(seed.value());
      start = comma + 1;
    }
    s.redis = s.redis_seeds.front();
    if (env.Find("ANALYTICS_REDIS_URL") == nullptr) {
      return common::Status::InvalidArgument(
          "ANALYTICS_REDIS_URL: required when REDIS_MODE=cluster (analytics stay on a standalone "
          "Redis)");
    }
  } else {
    auto redis = common::ParseRedisUrl(redis_url);
    if (!redis.ok()) {
      return common::Status::InvalidArgument("REDIS_URL: " + redis.status().message());
    }
    s.redis = redis.value();
  }
  auto analytics_redis = analytics::AnalyticsRedisEndpoint(env);
  if (!analytics_redis.ok()) return analytics_redis.status();
  s.analytics_redis = analytics_redis.value();
  s.options.fail_mode = s.fail_mode == "closed" ? FailMode::kClosed : FailMode::kOpen;
  // No store step of a request starts later than one Redis timeout after it arrived.
  s.options.request_deadline_ms = s.redis_timeout_ms;
  // The largest body: a batch; POST /check refuses more than kMaxCheckBodyBytes itself.
  s.service.http.max_body_bytes = kMaxBatchBodyBytes;
  return s;
}

std::string LimiterHelp() {
  return R"(limiter: answers POST /check from Redis and publishes one event per decision to Kafka.

Settings are environment variables (or lines of ENV_FILE / ./.env); see .env for details.
  LIMITER_HOST=127.0.0.1   LIMITER_PORT=8080          LIMITER_ID=<hostname>-<random>
  REDIS_URL=redis://127.0.0.1:6379                    REDIS_TIMEOUT_MS=50
  REDIS_MODE=standalone|cluster  (cluster: REDIS_URL lists seed nodes, comma-separated, and
                                 ANALYTICS_REDIS_URL is required)
  REDIS_BREAKER_FAILURES=5  REDIS_BREAKER_OPEN_MS=1000
  BLOCKED_CACHE_ENTRIES=100000  (requests answered "blocked" locally until their retry; 0: off)
  FAIL_MODE=open|closed    FAIL_CLOSED_RETRY_AFTER_MS=1000
  ANALYTICS_REDIS_URL=<REDIS_URL>  ANALYTICS_REDIS_TIMEOUT_MS=1000  LIMITER_PROGRESS_INTERVAL_MS=5
  GRPC_PORT=8081 (0: off)  GRPC_MAX_CONCURRENT_STREAMS=100  DESCRIPTOR_USER_KEYS=user_id,remote_address
  LIMIT_RESPONSE_HEADERS_ENABLED=false  LIMIT_LIMIT_HEADER=RateLimit-Limit
  LIMIT_REMAINING_HEADER=RateLimit-Remaining  LIMIT_RESET_HEADER=RateLimit-Reset  (as the reference)
  RLS_EXTENDED_HEADERS=false  (an extension: POST /check's RateLimit headers in gRPC and /json answers)
  SHADOW_MODE=false  (gRPC and /json: OK overall even over a limit)  DESCRIPTOR_NEAR_LIMIT_RATIO=0.8
  HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED=false  LIMITS_IGNORE_DOTFILES=false
  LIMITS_XDS_SERVER=  (host:port: Envoy ratelimit configs over xDS instead of LIMITS_FILE)
  LIMITS_XDS_NODE_ID=default  LIMITS_XDS_RETRY_MS=3000  LIMITS_XDS_FORCE_START=false
  The reference service's settings (RUNTIME_ROOT, PORT, REDIS_TYPE, ...) are read too when one of
  RUNTIME_ROOT, RUNTIME_SUBDIRECTORY, RUNTIME_APPDIRECTORY, REDIS_SOCKET_TYPE, REDIS_TYPE, USE_STATSD
  or CONFIG_TYPE is set (docs/configuration.md, "Migrating from envoyproxy/ratelimit").
    (where the limiter records how far it decided, for GET /analytics/limiters)
  LIMITER_EVENT_PORT=0 (0: off; POST /check, /check/batch, /json on event loops, standalone Redis)
  LIMITER_THREADS=<cores>  (the event loops; they also decide gRPC calls, standalone Redis)
  LIMITS_FILE=config/limits.yaml (rules, tiers, API keys; see docs/configuration.md)
  LIMITS_RELOAD_INTERVAL_MS=1000  ADMIN_TOKEN=  (Bearer token of GET/DELETE /limits/<user>)
  CHECK_TOKEN=  (if set, POST /check needs "Authorization: Bearer <CHECK_TOKEN>")
  DEFAULT_CAPACITY=10      DEFAULT_REFILL_PER_SEC=1   (the one rule used without a limits file)
  KAFKA_BROKERS=127.0.0.1:9092  KAFKA_TOPIC=rl.decisions.v1  KAFKA_PARTITIONS=12
  KAFKA_REPLICATION_FACTOR=1    KAFKA_QUEUE_MAX_MESSAGES=100000  KAFKA_LINGER_MS=100
  KAFKA_MESSAGE_TIMEOUT_MS=300000  KAFKA_FLUSH_TIMEOUT_MS=10000  HEALTH_KAFKA_TIMEOUT_MS=500
  KAFKA_STARTUP_WAIT_MS=5000  (how long the start waits for the topic before serving anyway)
  KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*  (librdkafka's security settings)
  KAFKA_DEBUG=  (librdkafka's debug contexts, e.g. broker,topic,msg,eos; with LOG_LEVEL=debug)
  HTTP_THREADS=64  HTTP_MAX_THREADS=1024  HTTP_READ_TIMEOUT_MS=5000  HTTP_WRITE_TIMEOUT_MS=5000
  HTTP_REQUEST_TIMEOUT_MS=10000  HTTP_KEEPALIVE_TIMEOUT_S=5  HTTP_KEEPALIVE_MAX_REQUESTS=10000
  HTTP_MAX_CONNECTIONS=10000 (event-loop ports: open at once; one more gets 503)
  LOG_LEVEL=info  LOG_FORMAT=text (or json: one JSON object a line)
)";
}

}  // namespace rl::limiter
