// Composition root of the limiter: the only place that builds the Redis pool, the Kafka producer
// and the HTTP server, and wires them to the decision service.
#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "common/analytics/limiter_ledger.h"
#include "common/analytics/progress_recorder.h"
#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/periodic_thread.h"
#include "common/base/signals.h"
#include "common/events/kafka_event_publisher.h"
#include "common/http/http.h"
#include "common/http/service.h"
#include "common/kafka/kafka_producer.h"
#include "common/redis/redis_client.h"
#include "common/redis/redis_cluster.h"
#include "grpc/health/v1/health.pb.h"
#include "limiter/core/blocked_cache.h"
#include "limiter/store/cache_invalidation.h"
#include "limiter/core/decision_service.h"
#include "limiter/front/decision_events.h"
#include "limiter/front/limiter_routes.h"
#include "limiter/core/async_decision_service.h"
#include "limiter/store/async_redis_decision_store.h"
#include "common/http/event_http_server.h"
#include "common/loop/event_loops.h"
#include "common/http/slow_request_reaper.h"
#include "common/redis/async_redis.h"
#include "limiter/limiter_settings.h"
#include "limiter/core/policy_holder.h"
#include "limiter/store/redis_decision_store.h"
#include "limiter/front/checked_reports.h"
#include "limiter/front/rls_grpc_service.h"
#include "limiter/front/rls_service.h"
#include "limiter/front/xds_config_client.h"
#include "limiter/reference_settings.h"

using namespace rl;

namespace {

limiter::HealthReport CheckHealth(limiter::AdminStore& store, common::KafkaProducer& producer,
                                  int kafka_timeout_ms) {
  int64_t redis_us = 0;
  int64_t kafka_us = 0;
  common::Status redis = store.Ping(&redis_us);
  common::Status kafka = producer.ProbeBroker(kafka_timeout_ms, &kafka_us);
  nlohmann::json body = {{"status", redis.ok() ? (kafka.ok() ? "ok" : "degraded") : "unavailable"},
                         {"redis", {{"ok", redis.ok()}, {"latency_ms", redis_us / 1000.0}}},
                         {"kafka",
                          {{"ok", kafka.ok()},
                           {"latency_ms", kafka_us / 1000.0},
                           {"topic_ready", producer.topic_ready()},
                           {"queued_events", producer.QueueLength()}}}};
  if (!redis.ok()) body["redis"]["error"] = redis.message();
  if (!kafka.ok()) body["kafka"]["error"] = kafka.message();
  // Kafka being down does not stop decisions (events are buffered), so only Redis decides 503.
  return {redis.ok() ? 200 : 503, body};
}

// Readiness: can this limiter answer as configured? Under FAIL_MODE=open always (without Redis it
// answers fail_open, as configured), so a readiness probe never turns fail-open into an outage;
// under FAIL_MODE=closed only while Redis answers. Kafka never matters: events are buffered.
// `needs_a_domain` (HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED): not ready while its policy has no
// Envoy ratelimit domain.
limiter::HealthReport CheckReady(limiter::AdminStore& store, limiter::FailMode mode,
                                 const limiter::DecisionService* needs_a_domain) {
  if (needs_a_domain != nullptr && needs_a_domain->policy()->policy.domains.empty()) {
    return {503, {{"ready", false}, {"error", "no rate limit domain loaded yet"}}};
  }
  if (mode == limiter::FailMode::kOpen) {
    return {200, {{"ready", true}, {"fail_mode", "open"}}};
  }
  int64_t redis_us = 0;
  common::Status redis = store.Ping(&redis_us);
  nlohmann::json body = {{"ready", redis.ok()},
                         {"fail_mode", "closed"},
                         {"redis", {{"ok", redis.ok()}, {"latency_ms", redis_us / 1000.0}}}};
  if (!redis.ok()) body["redis"]["error"] = redis.message();
  return {redis.ok() ? 200 : 503, body};
}

// The policy to start with: the limits file, checked before anything connects (a bad one stops
// the start with every error: file, place, bad value, not after a burst of connection errors).
// Without a file (and LIMITS_FILE unset): one rule from DEFAULT_*. The file is watched either way:
// one that appears later is loaded.
common::Result<std::shared_ptr<const limiter::ActivePolicy>> InitialPolicy(
    const limiter::LimiterSettings& s, const common::Clock& clock) {
  if (!s.xds.server.empty()) {  // nothing until the xDS server's first configs
    auto waiting = std::make_shared<limiter::ActivePolicy>();
    waiting->policy.source = "xds://" + s.xds.server;
    waiting->policy.version = "xds-waiting";
    waiting->loaded_at_ms = clock.NowMs();
    return std::shared_ptr<const limiter::ActivePolicy>(waiting);
  }
  if (s.limits_file_required || std::ifstream(s.limits_file).good()) {
    auto loaded = limiter::LoadPolicyFile(s.limits_file, clock, s.limits_ignore_dotfiles);
    if (!loaded.ok()) {
      return common::Status::InvalidArgument("LIMITS_FILE " + s.limits_file + " is invalid:\n" +
                                             loaded.status().message());
    }
    if (s.defaults_set) {
      spdlog::warn(
          "DEFAULT_CAPACITY / DEFAULT_REFILL_PER_SEC are set but ignored: the limits file {} is "
          "in force (they apply only when there is no limits file)",
          s.limits_file);
    }
    return std::shared_ptr<const limiter::ActivePolicy>(loaded.value());
  }
  auto defaults = std::make_shared<limiter::ActivePolicy>();
  defaults->policy = limiter::DefaultPolicy(s.default_capacity, s.default_refill_per_sec);
  defaults->hash = "defaults";
  defaults->loaded_at_ms = clock.NowMs();
  return std::shared_ptr<const limiter::ActivePolicy>(defaults);
}

// The Redis of the limit state (REDIS_MODE): one server or a cluster, each server behind its
// circuit breaker (one type for both, its counters registered once).
std::unique_ptr<common::RedisClient> LimitStateRedis(const limiter::LimiterSettings& s,
                                                     const common::Clock& clock,
                                                     common::MetricsRegistry& metrics) {
  common::Counter& script_reloads = metrics.AddCounter(
      "rl_redis_script_reloads_total", "EVALSHA answered NOSCRIPT and the script was sent again");
  // One circuit breaker per Redis server: the standalone one, or each primary of a cluster.
  const common::RedisBreakerMetrics breaker_metrics = common::RegisterRedisBreakerMetrics(metrics);
  std::unique_ptr<common::RedisClient> redis;
  if (s.redis_mode == "cluster") {
    const char* redirect_help = "Redis Cluster redirections followed, by kind";
    auto cluster = std::make_unique<common::RedisCluster>(
        common::RedisClusterOptions{
            .seeds = s.redis_seeds,
            .timeout_ms = s.redis_timeout_ms,
            .script_reloads = &script_reloads,
            .moved = &metrics.AddCounter("rl_redis_cluster_redirects_total", redirect_help,
                                         {{"kind", "moved"}}),
            .ask = &metrics.AddCounter("rl_redis_cluster_redirects_total", redirect_help,
                                       {{"kind", "ask"}}),
            .try_again = &metrics.AddCounter("rl_redis_cluster_redirects_total", redirect_help,
                                             {{"kind", "tryagain"}}),
            .refreshes = &metrics.AddCounter("rl_redis_cluster_slot_map_loads_total",
                                             "Redis Cluster slot maps loaded (CLUSTER SLOTS)"),
            .breaker = s.breaker,
            .breaker_metrics = breaker_metrics},
        clock);
    // Unreachable now is not fatal: calls fail by the fail mode and reload the map later.
    if (auto st = cluster->Refresh(); !st.ok()) spdlog::warn("{}", st.message());
    redis = std::move(cluster);
  } else {
    redis = std::make_unique<common::RedisPool>(common::RedisPoolOptions{
        .endpoint = s.redis,
        .timeout_ms = s.redis_timeout_ms,
        .script_reloads = &script_reloads,
        .stale_retries = &common::StaleRetriesCounter(metrics, "limits"),
        .breaker = s.breaker,
        .clock = &clock,
        .breaker_metrics = breaker_metrics});
  }
  return redis;
}

// Events produced while the broker is still creating the topic can be lost although the broker
// acknowledged them (seen once in LimiterFaults.SigtermUnderLoadLosesNoEvent: the first two events
// of one partition). So serving waits for the topic, but never long: with Kafka down the limiter
// must still answer.
void WaitForTopic(common::KafkaProducer& kafka, const limiter::LimiterSettings& s,
                  const common::Clock& clock) {
  const int64_t wait_until_us = clock.MonotonicUs() + int64_t{s.kafka_startup_wait_ms} * 1000;
  while (!kafka.topic_ready() && clock.MonotonicUs() < wait_until_us) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!kafka.topic_ready()) {
    spdlog::warn(
        "kafka: topic {} not ready after KAFKA_STARTUP_WAIT_MS={}; serving anyway, events "
        "are buffered",
        s.kafka.topic, s.kafka_startup_wait_ms);
  }
}

// Envoy's rate limit service over gRPC on GRPC_PORT, with grpc.health.v1 and reflection; null
// when GRPC_PORT is 0; an error when the port cannot be had.
common::Result<std::unique_ptr<grpc::Server>> ServeRls(const limiter::LimiterSettings& s,
                                                       limiter::RlsGrpcService& rls) {
  if (s.grpc_port <= 0) return std::unique_ptr<grpc::Server>();
  // Debian's Abseil is built with its debug checks, so every absl::Mutex grpc++ takes keeps a
  // lock-order graph (about 3% of the limiter's CPU under gRPC load). grpc++ is not ours to
  // debug: off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::EnableDefaultHealthCheckService(true);  // grpc.health.v1
  // Its descriptors, linked in and registered, so reflection describes the health service too.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  // Server reflection: grpcurl and other tools list and call the service without .proto files.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(s.service.host + ":" + std::to_string(s.grpc_port),
                           grpc::InsecureServerCredentials(), &bound);
  builder.SetMaxReceiveMessageSize(limiter::kMaxRlsMessageBytes);
  // grpc++ sets SO_REUSEPORT by default: a second process could then bind this port and take
  // part of Envoy's traffic. The port is this process's alone, as the HTTP port is.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, s.grpc_max_concurrent_streams);
  // HTTP/2's bandwidth-delay probe (a PING per read, to size windows for large transfers) buys
  // nothing for calls of a few hundred bytes: off, 10-15% less limiter CPU per call here.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.RegisterService(&rls);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    return common::Status::Unavailable("cannot listen on " + s.service.host + ":" +
                                       std::to_string(s.grpc_port) +
                                       " (GRPC_PORT): in use by another process?");
  }
  spdlog::info("grpc: envoy.service.ratelimit.v3.RateLimitService on {}:{}", s.service.host,
               bound);
  return server;
}

// At shutdown: the events still queued, delivered within `timeout_ms`; says what was lost.
void FlushEvents(common::KafkaProducer& kafka, const common::Counter& delivery_failed,
                 int timeout_ms) {
  const int64_t left = kafka.Flush(timeout_ms);
  const uint64_t failed = delivery_failed.Value();
  if (left > 0) {
    spdlog::warn("events: {} events not delivered within KAFKA_FLUSH_TIMEOUT_MS={} are lost", left,
                 timeout_ms);
  } else if (failed > 0) {
    spdlog::warn(
        "events: the queue is empty, but {} events were never delivered "
        "(rl_events_delivery_failed_total)",
        failed);
  } else {
    spdlog::info("events: all events delivered");
  }
}

// One event loop's decision path: its own Redis connection and store, the core shared with every
// other runner of the process, Envoy's rate limit requests and the /check routes on top.
struct LoopDecisions {
  LoopDecisions(event_base* loop, const limiter::LimiterSettings& s, const common::Clock& clock,
                common::MetricsRegistry& metrics, limiter::DecisionService& service,
                limiter::DecisionEvents& events, const limiter::PolicyHolder& policies,
                limiter::DescriptorStats& descriptor_stats, common::RedisBreaker& breaker)
      : redis(loop,
              {.endpoint = s.redis,
               .connect_timeout_ms = s.redis_timeout_ms,
               .stall_ms = s.redis_timeout_ms,
               .script_reloads = &metrics.AddCounter(
                   "rl_redis_script_reloads_total",
                   "EVALSHA calls answered NOSCRIPT and sent again as EVAL"),
               .reconnects = &metrics.AddCounter(
                   "rl_redis_reconnects_total",
                   "Event-loop Redis connections dropped (a timeout, a lost server) and made "
                   "again"),
               .breaker = &breaker},
              clock),
        store(redis),
        runner(service.core(), store, events, clock, policies),
        rls(runner, descriptor_stats, clock, s.rls),
        routes(runner, rls, metrics, clock, s.check_token) {}
  common::AsyncRedis redis;
  limiter::AsyncRedisDecisionStore store;
  limiter::AsyncDecisionService runner;
  limiter::RlsService rls;
  limiter::CheckRoutes routes;
};

// The decision paths of the event loops, one per loop (standalone Redis), or none (a cluster: the
// synchronous paths serve everything).
std::vector<std::shared_ptr<LoopDecisions>> DecisionsOnLoops(
    common::EventLoops& loops, const limiter::LimiterSettings& s, const common::Clock& clock,
    common::MetricsRegistry& metrics, limiter::DecisionService& service,
    limiter::DecisionEvents& events, const limiter::PolicyHolder& policies,
    limiter::DescriptorStats& descriptor_stats, common::RedisBreaker& breaker) {
  std::vector<std::shared_ptr<LoopDecisions>> decisions;
  if (s.redis_mode == "cluster") return decisions;
  for (int i = 0; i < loops.size(); ++i) {
    decisions.push_back(std::make_shared<LoopDecisions>(loops.base(i), s, clock, metrics, service,
                                                        events, policies, descriptor_stats,
                                                        breaker));
  }
  return decisions;
}

// POST /check, /check/batch and /json on the event loops at LIMITER_EVENT_PORT (null: off), with
// /health and /ready from `reports`.
common::Result<std::unique_ptr<common::EventHttpServer>> ServeChecksOnEventLoops(
    const limiter::LimiterSettings& s, common::EventLoops& loops,
    const std::vector<std::shared_ptr<LoopDecisions>>& decisions,
    limiter::CheckedReports& reports, common::MetricsRegistry& metrics,
    common::SlowRequestReaper& reaper) {
  if (s.event_port == 0 || decisions.empty()) return std::unique_ptr<common::EventHttpServer>();
  auto server = std::make_unique<common::EventHttpServer>(
      loops,
      common::EventHttpOptions::From(s.service.http, limiter::kMaxBatchBodyBytes, &metrics),
      [&](int loop, event_base*) {
        common::RouteTable routes;
        // The loop's CheckRoutes, kept alive with everything else of its loop.
        const std::shared_ptr<limiter::CheckRoutes> checks(decisions[loop],
                                                           &decisions[loop]->routes);
        routes.PostAsync("/check", common::RouteTo(checks, &limiter::CheckRoutes::Check))
            .PostAsync("/check/batch", common::RouteTo(checks, &limiter::CheckRoutes::CheckBatch))
            .PostAsync("/json", common::RouteTo(checks, &limiter::CheckRoutes::Json));
        reports.AddRoutes(routes);
        common::AddMetricsAndLiveness(routes, metrics);
        return routes;
      });
  auto port = server->Start(s.service.host, s.event_port);
  if (!port.ok()) return port.status();
  // A total deadline per request (slowloris), as on LIMITER_PORT: evhttp's timeout is per read.
  reaper.Watch(server->listen_fd());
  spdlog::info("listening on {}:{} (POST /check, /check/batch, /json on {} event loops)",
               s.service.host, port.value(), loops.size());
  return server;
}

// Who decides a gRPC call: the event loops in turn, each with its own RlsService; without loops
// (a cluster), `sync` at once, on grpc++'s thread.
limiter::RlsDispatch RlsDispatchTo(common::EventLoops& loops,
                                   const std::vector<std::shared_ptr<LoopDecisions>>& decisions,
                                   limiter::RlsService& sync) {
  if (decisions.empty()) {
    return [&sync](std::function<void(limiter::RlsService&)> work) { work(sync); };
  }
  return [&loops, decisions](std::function<void(limiter::RlsService&)> work) {
    const int loop = loops.Next();
    loops.Post(loop, [work = std::move(work), on = decisions[loop]] { work(on->rls); });
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (common::WantsHelp(argc, argv)) {
    std::cout << limiter::LimiterHelp();
    return 0;
  }
  if (argc >= 2 && std::string(argv[1]) == "--check-config") {
    // limiter --check-config [FILE]: FILE, else LIMITS_FILE, else config/limits.yaml.
    const char* env_file = std::getenv("LIMITS_FILE");
    const std::string file = argc >= 3                               ? argv[2]
                             : env_file != nullptr && *env_file != 0 ? env_file
                                                                     : "config/limits.yaml";
    return limiter::CheckConfig(file, std::cout, std::cerr);
  }
  common::BlockTerminationSignals();
  auto env = common::EnvSource::FromProcess();
  if (!env.ok()) return common::ReportBadConfiguration("limiter", env.status());
  // A Deployment of envoyproxy/ratelimit, by its settings' names, as this limiter's.
  auto translated = limiter::TranslateReferenceSettings(env.value().Vars());
  if (!translated.ok()) return common::ReportBadConfiguration("limiter", translated.status());
  auto settings = limiter::LoadLimiterSettings(common::EnvSource(translated.value().vars));
  if (!settings.ok()) return common::ReportBadConfiguration("limiter", settings.status());
  const limiter::LimiterSettings& s = settings.value();
  if (auto st = common::SetupLogging("limiter", s.service.log_level, s.service.log_format);
      !st.ok()) {
    return common::ReportBadConfiguration("limiter", st);
  }
  for (const std::string& note : translated.value().notes) {
    spdlog::info("envoyproxy/ratelimit setting {}", note);
  }

  common::SystemClock clock;
  auto loaded = InitialPolicy(s, clock);  // before anything connects
  if (!loaded.ok()) return common::ReportBadConfiguration("limiter", loaded.status());
  const std::shared_ptr<const limiter::ActivePolicy> initial = loaded.value();

  common::MetricsRegistry metrics;
  common::RegisterProcessMetrics(metrics, clock);
  std::unique_ptr<common::RedisClient> redis = LimitStateRedis(s, clock, metrics);
  metrics.AddGaugeFn("rl_redis_circuit_state",
                     "Redis circuit breakers: 0 closed, 1 open (any server), 2 half-open", {},
                     [&redis] { return static_cast<double>(redis->BreakerState()); });
  limiter::RedisDecisionStore redis_store(
      *redis, clock,
      &metrics.AddCounter("rl_cross_slot_refunds_failed_total",
                          "Cross-slot refunds Redis did not take (the charge stays until it "
                          "expires)"));

  const common::KafkaProducerMetrics producer_metrics =
      common::RegisterKafkaProducerMetrics(metrics);
  common::Counter& delivery_failed = *producer_metrics.delivery_failed;
  auto producer = common::KafkaProducer::Create(s.kafka, producer_metrics, clock);
  if (!producer.ok()) return common::ReportBadConfiguration("limiter", producer.status());
  common::KafkaProducer& kafka = *producer.value();
  metrics.AddGaugeFn("rl_events_queued", "Decision events waiting in the local producer queue", {},
                     [&kafka] { return static_cast<double>(kafka.QueueLength()); });
  common::KafkaEventPublisher publisher(kafka, metrics, clock);
  limiter::PolicyHolder policies(initial);
  limiter::PolicyFileWatcher watcher(s.limits_file, policies, clock, metrics,
                                     [skip_hidden = s.limits_ignore_dotfiles](
                                         const std::string& path) {
                                       return limiter::ReadLimits(path, skip_hidden);
                                     });
  // The limits come from LIMITS_FILE, watched, or from an xDS server (LIMITS_XDS_SERVER).
  std::optional<common::PeriodicThread> watch;
  std::unique_ptr<limiter::XdsConfigClient> xds;
  if (s.xds.server.empty()) {
    watch.emplace(s.limits_reload_interval_ms, [&watcher] { watcher.Poll(); });
  } else {
    xds = std::make_unique<limiter::XdsConfigClient>(s.xds, policies, clock, metrics);
    xds->Start();
  }
  // A request Redis has just blocked until T is answered locally until T.
  limiter::BlockedCache blocked_cache(clock, metrics,
                                      static_cast<size_t>(s.blocked_cache_entries));
  limiter::CacheResettingAdminStore admin(redis_store, blocked_cache);
  // An admin reset on any limiter empties every limiter's cache (Redis pub/sub).
  limiter::RedisCacheInvalidation invalidation(
      *redis, s.redis_mode == "cluster" ? s.redis_seeds : std::vector{s.redis}, blocked_cache,
      metrics, s.options.limiter_id);
  limiter::PublishedDecisionEvents events(publisher);
  limiter::DecisionService service(redis_store, redis_store, events, clock, metrics, policies,
                                   s.options, &blocked_cache);
  common::RedisPool analytics_redis(
      {.endpoint = s.analytics_redis,
       .timeout_ms = s.analytics_redis_timeout_ms,
       .stale_retries = &common::StaleRetriesCounter(metrics, "analytics")});
  analytics::RedisLimiterLedger ledger(analytics_redis, s.progress_interval_ms);
  analytics::ProgressRecorder progress(
      ledger, s.options.limiter_id, [&service] { return service.events_decided(); }, clock,
      metrics);
  common::PeriodicThread record_progress(s.progress_interval_ms, [&progress] { progress.Tick(); });

  httplib::Server server;
  common::ConfigureServer(server, s.service.http, metrics, clock);
  limiter::DescriptorStats descriptor_stats(metrics, clock, 10000, s.descriptor_near_limit_ratio);
  limiter::RlsService rls(service, descriptor_stats, clock, s.rls);  // POST /json on LIMITER_PORT
  limiter::LimiterApi api{service,
                          rls,
                          admin,
                          redis_store,
                          [&] { return CheckHealth(redis_store, kafka, s.health_kafka_timeout_ms); },
                          [&] {
                            if (xds && !s.xds_force_start && !xds->HasConfig()) {
                              return limiter::HealthReport{
                                  503, {{"ready", false},
                                        {"error", "no rate limit config from the xDS server "
                                                  "yet"}}};
                            }
                            return CheckReady(redis_store, s.options.fail_mode,
                                              s.ready_needs_a_domain ? &service : nullptr);
                          },
                          metrics,
                          clock,
                          s.admin_token,
                          s.check_token};
  common::MountRoutes(server, limiter::LimiterRoutes(api));
  const std::string banner =
      fmt::format("redis {}, kafka {}, topic {}, fail mode {}, policy {} version {}, id {}",
                  redis->Describe(), s.kafka.brokers, s.kafka.topic, s.fail_mode,
                  initial->policy.source, initial->policy.version, s.options.limiter_id);
  auto on_hangup = [&watcher, &xds] {
    if (xds) return spdlog::info("SIGHUP: the limits come from the xDS server; nothing to reload");
    watcher.Reload();
  };
  WaitForTopic(kafka, s, clock);
  // The event-driven decision path: LIMITER_THREADS loops, each with its own Redis connection
  // (standalone Redis), behind a breaker of their own for the same server. They serve gRPC and
  // LIMITER_EVENT_PORT.
  common::EventLoops loops(s.threads);
  common::RedisBreaker event_breaker(s.breaker, clock, common::RegisterRedisBreakerMetrics(metrics),
                                     s.redis.Describe() + " (event loops)");
  const std::vector<std::shared_ptr<LoopDecisions>> loop_decisions = DecisionsOnLoops(
      loops, s, clock, metrics, service, events, policies, descriptor_stats, event_breaker);
  common::SlowRequestReaper event_reaper(s.service.http.request_timeout_ms, metrics, clock);
  limiter::CheckedReports reports(api.health, api.ready, clock);
  std::optional<common::PeriodicThread> check_reports;
  if (s.event_port != 0) {
    check_reports.emplace(limiter::CheckedReports::kEveryMs, [&reports] { reports.Check(); });
  }
  auto event_server =
      ServeChecksOnEventLoops(s, loops, loop_decisions, reports, metrics, event_reaper);
  if (!event_server.ok()) {
    spdlog::error("LIMITER_EVENT_PORT: {}", event_server.status().message());
    return 1;
  }
  // Envoy's rate limit service over gRPC, on GRPC_PORT (0: off), beside the HTTP API.
  limiter::RlsGrpcService rls_grpc(service.core(), RlsDispatchTo(loops, loop_decisions, rls));
  auto grpc_server = ServeRls(s, rls_grpc);
  if (!grpc_server.ok()) {
    // As a taken HTTP port: exit 1 (the setting is valid; the port is not free).
    spdlog::error("{}", grpc_server.status().message());
    return 1;
  }
  loops.Start();
  const bool served =
      common::ServeUntilSignal(server, s.service.host, s.service.port, banner, on_hangup);
  // gRPC first: its calls still under way are finished by the loops, which stop after it.
  if (grpc_server.value())
    grpc_server.value()->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  loops.Stop(200);
  if (check_reports) check_reports->Stop();
  if (!served) return 1;
  FlushEvents(kafka, delivery_failed, s.kafka_flush_timeout_ms);
  record_progress.Stop();
  if (progress.Finish()) {
    spdlog::info("progress: recorded {} events decided, stopped cleanly", service.events_decided());
  }
  return 0;
}
