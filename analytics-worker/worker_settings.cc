#include "analytics-worker/worker_settings.h"

#include "common/analytics/analytics_redis.h"
#include "common/kafka/kafka_admin.h"

namespace rl::analytics {

common::Result<WorkerSettings> LoadWorkerSettings(const common::EnvSource& env) {
  WorkerSettings s;
  common::SettingsLoader load(env);
  common::LoadServiceSettings(load, "WORKER", &s.service);
  load.Int("ANALYTICS_REDIS_TIMEOUT_MS", &s.redis_timeout_ms, 1, 60000);
  load.String("KAFKA_BROKERS", &s.kafka.brokers, true);
  load.String("KAFKA_TOPIC", &s.kafka.topic, true);
  load.String("KAFKA_GROUP", &s.kafka.group, true);
  load.Int("KAFKA_SESSION_TIMEOUT_MS", &s.kafka.session_timeout_ms, 1000, 300000);
  load.Int("KAFKA_PARTITIONS", &s.kafka.partitions, 1, 10000);
  load.Int("KAFKA_REPLICATION_FACTOR", &s.kafka.replication_factor, 1, 100);
  load.Int("KAFKA_FETCH_MIN_BYTES", &s.kafka.fetch_min_bytes, 1, 100'000'000);
  load.Int("KAFKA_FETCH_WAIT_MAX_MS", &s.kafka.fetch_wait_max_ms, 1, 10000);
  int64_t batch_max_events = static_cast<int64_t>(s.loop.batch_max_events);
  load.Int("ANALYTICS_BATCH_MAX_EVENTS", &batch_max_events, 1, 100000);
  load.Int("ANALYTICS_BATCH_MAX_MS", &s.loop.batch_max_ms, 1, 60000);
  load.Int("ANALYTICS_RETENTION_MINUTES", &s.loop.retention_minutes, 1, 525600);
  load.Int("WORKER_GROUP_LAG_INTERVAL_MS", &s.group_lag_interval_ms, 100, 600000);
  load.Int("WORKER_STALL_AFTER_MS", &s.stall_after_ms, 500, 3600000);
  if (auto status = load.Finish(); !status.ok()) return status;
  s.kafka.extra_config = common::KafkaSecurityConfig(env);
  s.loop.batch_max_events = static_cast<size_t>(batch_max_events);
  auto redis = analytics::AnalyticsRedisEndpoint(env);
  if (!redis.ok()) return redis.status();
  s.redis = redis.value();
  return s;
}

std::string WorkerHelp() {
  return R"(analytics-worker: folds decision events from Kafka into per-user counters in Redis,
exactly once (positions are stored with the counters, atomically).

Settings are environment variables (or lines of ENV_FILE / ./.env); see .env for details.
  WORKER_HOST=127.0.0.1  WORKER_PORT=8090 (health and metrics)
  ANALYTICS_REDIS_URL=<REDIS_URL>  ANALYTICS_REDIS_TIMEOUT_MS=1000
  KAFKA_BROKERS=127.0.0.1:9092  KAFKA_TOPIC=rl.decisions.v1  KAFKA_GROUP=rl-analytics
  KAFKA_SESSION_TIMEOUT_MS=10000  KAFKA_PARTITIONS=12  KAFKA_REPLICATION_FACTOR=1
  KAFKA_FETCH_MIN_BYTES=262144  KAFKA_FETCH_WAIT_MAX_MS=250
  ANALYTICS_BATCH_MAX_EVENTS=1000  ANALYTICS_BATCH_MAX_MS=200  ANALYTICS_RETENTION_MINUTES=1440
  WORKER_GROUP_LAG_INTERVAL_MS=1000  WORKER_STALL_AFTER_MS=5000 (health: the group's lag)
  HTTP_THREADS=64  HTTP_MAX_THREADS=1024  LOG_LEVEL=info  LOG_FORMAT=text (or json: one JSON object a line)
)";
}

}  // namespace rl::analytics
