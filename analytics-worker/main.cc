// Composition root of the analytics worker: builds the Redis pool, the sink, the consumer loop,
// the Kafka consumer and the health server, and runs the loop on its own thread until SIGTERM.
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "analytics-worker/consumer_loop.h"
#include "analytics-worker/group_lag.h"
#include "analytics-worker/worker_routes.h"
#include "analytics-worker/worker_settings.h"
#include "common/analytics/analytics_sink.h"
#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/periodic_thread.h"
#include "common/base/signals.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "common/kafka/kafka_consumer.h"
#include "common/kafka/kafka_group_probe.h"
#include "common/redis/redis_client.h"

using namespace rl;

int main(int argc, char** argv) {
  if (common::WantsHelp(argc, argv)) {
    std::cout << analytics::WorkerHelp();
    return 0;
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) return common::ReportBadConfiguration("analytics-worker", env.status());
  auto settings = analytics::LoadWorkerSettings(env.value());
  if (!settings.ok()) return common::ReportBadConfiguration("analytics-worker", settings.status());
  const analytics::WorkerSettings& s = settings.value();
  if (auto st = common::SetupLogging("analytics-worker", s.service.log_level, s.service.log_format);
      !st.ok()) {
    return common::ReportBadConfiguration("analytics-worker", st);
  }

  common::SystemClock clock;
  common::MetricsRegistry metrics;
  common::RegisterProcessMetrics(metrics, clock);
  common::RedisPool redis(
      {.endpoint = s.redis,
       .timeout_ms = s.redis_timeout_ms,
       .stale_retries = &common::StaleRetriesCounter(metrics, "analytics")});
  analytics::RedisAnalyticsSink sink(redis, s.kafka.topic, clock);
  analytics::ConsumerLoop loop(sink, clock, metrics, s.loop);
  auto consumer = common::KafkaConsumer::Create(s.kafka, &loop, clock);
  if (!consumer.ok()) return common::ReportBadConfiguration("analytics-worker", consumer.status());
  // The group's lag, every partition whoever owns it, from a client of its own.
  auto probe = common::KafkaGroupProbe::Create({.brokers = s.kafka.brokers,
                                                .topic = s.kafka.topic,
                                                .group = s.kafka.group,
                                                .extra_config = s.kafka.extra_config});
  if (!probe.ok()) return common::ReportBadConfiguration("analytics-worker", probe.status());
  analytics::GroupLagMonitor group_lag(*probe.value(), sink, clock, metrics, s.stall_after_ms);
  common::PeriodicThread measure_group_lag(s.group_lag_interval_ms,
                                           [&group_lag] { group_lag.Measure(); });

  std::atomic<bool> stop{false};
  std::thread consumer_thread([&] {
    common::KafkaConsumer& kafka = *consumer.value();
    while (!stop) {
      common::Status topic = kafka.EnsureTopic([&] { return stop.load(); });
      if (topic.ok()) break;
      spdlog::warn("kafka: cannot create or find topic {} yet ({}); retrying", s.kafka.topic,
                   topic.message());
      for (int i = 0; i < 10 && !stop; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (stop) return;
    if (common::Status sub = kafka.Subscribe(); !sub.ok()) {
      spdlog::error("{}", sub.message());  // only on a bad topic name; health stays degraded
      return;
    }
    loop.Run(kafka, stop);
  });

  httplib::Server server;
  common::ConfigureServer(server, s.service.http, metrics, clock);
  auto health = [&] {
    analytics::WorkerHealth now{.group = group_lag.Last(),
                     .now_ms = clock.NowMs(),
                     .group_lag_interval_ms = s.group_lag_interval_ms,
                     .assigned_partitions = loop.assigned_partitions(),
                     .partition_lags = loop.Lags()};
    now.redis = sink.Ping(&now.redis_latency_us);
    return now;
  };
  common::MountRoutes(server, analytics::WorkerRoutes(health, metrics));
  const std::string banner =
      fmt::format("analytics redis {}, kafka {}, topic {}, group {}", s.redis.Describe(),
                  s.kafka.brokers, s.kafka.topic, s.kafka.group);
  bool served = common::ServeUntilSignal(server, s.service.host, s.service.port, banner);
  stop = true;
  consumer_thread.join();
  spdlog::info("left the consumer group; bye");
  return served ? 0 : 1;
}
