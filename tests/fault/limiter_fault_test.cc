// The limiter under dependency failures: answers stay fast and follow the fail mode, degraded
// answers are counted, and everything recovers by itself; no event is lost while Kafka is down or
// when the limiter is stopped under load.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/analytics/limiter_ledger.h"
#include "common/kafka/kafka_producer.h"
#include "tests/support/support.h"

namespace rl::testing {
namespace {

using nlohmann::json;

TEST(RedisFaults, MaxmemoryUnderNoevictionAnswersByFailModeAndRecovers) {
  RedisServer redis;
  auto limiter =
      StartLimiter(redis, kNoBroker, "rl.fault.oom", {{"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  auto client = limiter->Client();
  ASSERT_EQ(Outcome(PostCheck(*client, R"({"user_id":"before"})")), "allowed");
  redis.Must({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  redis.Must({"DEBUG", "POPULATE", "20000", "filler", "100"});
  redis.Must({"CONFIG", "SET", "maxmemory", "1mb"});
  auto res = PostCheck(*client, R"({"user_id":"new-user"})");
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Outcome(res), "fail_open");
  EXPECT_GE(MetricValue(*client, "rl_redis_errors_total{kind=\"error\"}"), 1);
  redis.Must({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_TRUE(Eventually(
      [&] { return Outcome(PostCheck(*client, R"({"user_id":"new-user"})")) == "allowed"; }, 10s));
}

TEST(RedisFaults, ASlowServerIsCutOffAtTheTimeoutAndRecovers) {
  RedisServer redis;
  auto limiter = StartLimiter(
      redis, kNoBroker, "rl.fault.slow",
      {{"FAIL_MODE", "closed"}, {"REDIS_TIMEOUT_MS", "50"}, {"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  auto client = limiter->Client();
  ASSERT_EQ(Outcome(PostCheck(*client, R"({"user_id":"u"})")), "allowed");
  std::thread sleeper([&] {
    common::RedisPool slow(
        {.endpoint = {.host = "127.0.0.1", .port = redis.port()}, .timeout_ms = 5000});
    slow.Command({"DEBUG", "SLEEP", "1.5"});  // Redis answers nobody for 1.5 s
  });
  std::this_thread::sleep_for(100ms);  // let DEBUG SLEEP start: the fault under test
  auto t0 = std::chrono::steady_clock::now();
  auto res = PostCheck(*client, R"({"user_id":"u"})");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 700ms);  // 50 ms timeout plus a generous margin
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(Outcome(res), "fail_closed");
  sleeper.join();
  EXPECT_TRUE(Eventually(
      [&] { return Outcome(PostCheck(*client, R"({"user_id":"u"})")) == "allowed"; }, 10s));
  EXPECT_GE(MetricValue(*client, "rl_redis_errors_total{kind=\"timeout\"}"), 1);
}

TEST(RedisFaults, RestartWithEmptyDataStartsBucketsFullAndReloadsTheScript) {
  RedisServer redis;
  auto limiter = StartLimiter(redis, kNoBroker, "rl.fault.empty",
                              {{"DEFAULT_CAPACITY", "2"}, {"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  auto client = limiter->Client();
  PostCheck(*client, R"({"user_id":"u"})");
  PostCheck(*client, R"({"user_id":"u"})");
  ASSERT_EQ(Outcome(PostCheck(*client, R"({"user_id":"u"})")), "blocked");
  PostCheck(*client, R"({"user_id":"v"})");
  redis.Kill();
  redis.Start();  // no persistence: all limit state and the cached script are gone
  // v's bucket starts full again (one request was taken before the restart)...
  EXPECT_TRUE(Eventually(
      [&] {
        auto res = PostCheck(*client, R"({"user_id":"v"})");
        return res && json::parse(res->body, nullptr, false).value("remaining", -1) == 1;
      },
      10s));
  EXPECT_GE(MetricValue(*client, "rl_redis_script_reloads_total"), 1);
  // ...and so does u's, whom Redis had blocked until its retry time: the restart cut the feed of
  // other limiters' resets, so the blocked cache was emptied (a reset may have been missed) and
  // Redis decides again. It once kept answering "blocked" from the cache until the retry time.
  EXPECT_EQ(Outcome(PostCheck(*client, R"({"user_id":"u"})")), "allowed");
  EXPECT_GE(MetricValue(*client, "rl_blocked_cache_invalidations_total"), 1);
  // Once subscribed again, the cache answers again.
  EXPECT_TRUE(
      Eventually([&] { return MetricValue(*client, "rl_blocked_cache_usable") == 1; }, 10s));
  PostCheck(*client, R"({"user_id":"u"})");
  ASSERT_EQ(Outcome(PostCheck(*client, R"({"user_id":"u"})")), "blocked");
  EXPECT_EQ(Outcome(PostCheck(*client, R"({"user_id":"u"})")), "blocked");
  EXPECT_GE(MetricValue(*client, "rl_blocked_cache_hits_total"), 1);
}

TEST(KafkaFaults, ChecksStayFastWhileTheBrokerIsDownAndEveryEventArrivesAfterwards) {
  RedisServer redis;
  KafkaBroker broker;
  const std::string topic = "rl.fault.kafka-down";
  auto limiter = StartLimiter(redis, broker.bootstrap(), topic, {{"DEFAULT_CAPACITY", "1000000"}});
  auto client = limiter->Client();
  ASSERT_TRUE(Eventually(
      [&] { return json::parse(client->Get("/health")->body)["kafka"]["topic_ready"] == true; },
      30s));

  auto timed_checks = [&](int n, std::vector<double>* ms) {
    for (int i = 0; i < n; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto res = PostCheck(*client, R"({"user_id":"u)" + std::to_string(i % 50) + R"("})");
      ms->push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      ASSERT_TRUE(res && res->status == 200);
    }
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::vector<double> before, during;
  timed_checks(200, &before);
  broker.Stop();
  const auto outage_end = std::chrono::steady_clock::now() + 60s;
  int during_count = 0;
  while (std::chrono::steady_clock::now() < outage_end) {  // the 60 s outage under test
    timed_checks(50, &during);
    during_count += 50;
    std::this_thread::sleep_for(200ms);
  }
  broker.Start();
  EXPECT_LT(median(during), std::max(5.0, 3 * median(before)))
      << "median /check latency " << median(before) << " ms before, " << median(during)
      << " ms during";
  const size_t total = 200 + during_count;
  ASSERT_TRUE(
      Eventually([&] { return MetricValue(*client, "rl_events_delivered_total") >= total; }, 120s))
      << "delivered " << MetricValue(*client, "rl_events_delivered_total") << " of " << total;
  EXPECT_EQ(MetricValue(*client, "rl_events_dropped_total{reason=\"queue_full\"}"), 0);
  EXPECT_EQ(MetricValue(*client, "rl_events_delivery_failed_total"), 0);
  EXPECT_EQ(ReadDecisions(broker.bootstrap(), topic, total, 60s).size(), total);
}

// SIGTERMs `limiter` under `load`: it exits 0, its ledger (LIMITER_ID `id`) says how many it
// decided and that it stopped cleanly, and every one of those decisions is in Kafka.
void ExpectACleanStopWithEveryEvent(RedisServer& redis, ServiceProcess& limiter, CheckLoad& load,
                                    const std::string& id, const std::string& topic) {
  limiter.process().Signal(SIGTERM);
  EXPECT_EQ(limiter.process().WaitExit(30s), 0) << limiter.process().LogTail();
  load.Stop();
  const std::string ledger = common::LimiterLedgerKey(id);
  EXPECT_EQ(redis.Must({"HGET", ledger, "state"}).str, "stopped");
  const int64_t decided = HashInt(redis, ledger, "decided");
  EXPECT_GE(decided, load.answered());
  auto events = ReadDecisions(SharedKafka().bootstrap(), topic, static_cast<size_t>(decided), 60s);
  EXPECT_EQ(static_cast<int64_t>(events.size()), decided) << "every decision has its event";
  EXPECT_NE(limiter.process().LogTail().find("all events delivered"), std::string::npos);
}

TEST(LimiterFaults, SigtermUnderLoadLosesNoEvent) {
  RedisServer redis;
  const std::string topic = "rl.fault.sigterm";
  auto limiter = StartLimiter(redis, SharedKafka().bootstrap(), topic,
                              {{"DEFAULT_CAPACITY", "1000000"}, {"LIMITER_ID", "sigterm-limiter"}});
  CheckLoad load(*limiter, 8,
                 [](int t, int) { return R"({"user_id":"load-)" + std::to_string(t) + R"("})"; });
  ASSERT_TRUE(Eventually([&] { return load.answered() > 2000; }, 60s));
  ExpectACleanStopWithEveryEvent(redis, *limiter, load, "sigterm-limiter", topic);
}

// The same on the event loops: a SIGTERM under load on LIMITER_EVENT_PORT (and gRPC beside it)
// stops the loops after their answers under way, and every decision made has its event.
TEST(LimiterFaults, SigtermUnderLoadOnTheEventPortLosesNoEvent) {
  RedisServer redis;
  const std::string topic = "rl.fault.sigterm-event";
  const int event_port = FreePort();
  auto limiter = StartLimiter(redis, SharedKafka().bootstrap(), topic,
                              {{"DEFAULT_CAPACITY", "1000000"},
                               {"LIMITER_ID", "sigterm-event-limiter"},
                               {"LIMITER_EVENT_PORT", std::to_string(event_port)},
                               {"LIMITER_THREADS", "2"}});
  CheckLoad load(
      *limiter, 8, [](int t, int) { return R"({"user_id":"ev-)" + std::to_string(t) + R"("})"; },
      event_port);
  ASSERT_TRUE(Eventually([&] { return load.answered() > 2000; }, 60s));
  ExpectACleanStopWithEveryEvent(redis, *limiter, load, "sigterm-event-limiter", topic);
}

TEST(KafkaFaults, AFullBufferDropsEventsCountedAndLoggedNeverDelayingAnswers) {
  RedisServer redis;
  auto limiter = StartLimiter(redis, kNoBroker, "rl.fault.full",  // nothing listens there
                              {{"DEFAULT_CAPACITY", "1000"},
                               {"KAFKA_QUEUE_MAX_MESSAGES", "10"},
                               {"KAFKA_MESSAGE_TIMEOUT_MS", "1000"},
                               {"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  auto client = limiter->Client();
  for (int i = 0; i < 60; ++i) ASSERT_EQ(PostCheck(*client, R"({"user_id":"u"})")->status, 200);
  EXPECT_GE(MetricValue(*client, "rl_events_dropped_total{reason=\"queue_full\"}"), 50);
  EXPECT_NE(limiter->process().LogTail().find("producer queue full"), std::string::npos);
  // What was queued is given up after KAFKA_MESSAGE_TIMEOUT_MS, and counted too.
  EXPECT_TRUE(Eventually(
      [&] { return MetricValue(*client, "rl_events_delivery_failed_total") >= 10; }, 15s))
      << MetricValue(*client, "rl_events_delivery_failed_total");
  EXPECT_NE(limiter->process().LogTail().find("event delivery failed"), std::string::npos);
}

TEST(RedisFaults, AclUsersAreSupportedAndAWrongPasswordIsAFailModeAnswer) {
  RedisServer redis;
  redis.Must({"ACL", "SETUSER", "limiter", "on", ">s3cret-pw", "~*", "&*", "+@all"});
  const std::string host = "@127.0.0.1:" + std::to_string(redis.port());
  auto good = StartLimiter(
      redis, kNoBroker, "rl.fault.acl",
      {{"REDIS_URL", "redis://limiter:s3cret-pw" + host}, {"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  EXPECT_EQ(Outcome(PostCheck(*good->Client(), R"({"user_id":"u"})")), "allowed");
  auto bad = StartLimiter(
      redis, kNoBroker, "rl.fault.acl",
      {{"REDIS_URL", "redis://limiter:wrong" + host}, {"KAFKA_FLUSH_TIMEOUT_MS", "100"}});
  EXPECT_EQ(Outcome(PostCheck(*bad->Client(), R"({"user_id":"u"})")), "fail_open");
  for (auto* p : {&good->process(), &bad->process()}) {
    EXPECT_EQ(p->LogTail(100000).find("s3cret-pw"), std::string::npos)
        << "a password reached the log";
  }
}

TEST(KafkaFaults, AFatalProducerErrorRecreatesTheProducerAndDeliveryGoesOn) {
  common::SystemClock clock;
  common::MetricsRegistry metrics;
  common::Counter& delivered = metrics.AddCounter("delivered", "");
  common::Counter& failed = metrics.AddCounter("failed", "");
  common::Counter& restarts = metrics.AddCounter("restarts", "");
  common::KafkaProducerOptions options;
  options.brokers = SharedKafka().bootstrap();
  options.topic = "rl.fault.fatal";
  options.partitions = 3;
  auto producer = common::KafkaProducer::Create(options, {&delivered, &failed, &restarts}, clock);
  ASSERT_TRUE(producer.ok()) << producer.status().message();
  common::KafkaProducer& p = *producer.value();
  ASSERT_TRUE(Eventually([&] { return p.topic_ready(); }, 30s));
  for (int i = 0; i < 10; ++i) p.Produce("u", "before");
  ASSERT_TRUE(Eventually([&] { return delivered.Value() == 10; }, 30s));

  p.InjectFatalErrorForTest();
  ASSERT_TRUE(Eventually([&] { return restarts.Value() == 1; }, 10s)) << "producer not recreated";
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(p.Produce("u", "after"), common::KafkaProducer::Enqueued::kQueued);
  }
  EXPECT_TRUE(Eventually([&] { return delivered.Value() == 20; }, 30s))
      << delivered.Value() << " delivered, " << failed.Value() << " failed";
  EXPECT_EQ(p.Flush(10000), 0);
}

}  // namespace
}  // namespace rl::testing
