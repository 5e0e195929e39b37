// The analytics pipeline and the gateway against real Redis, Kafka, limiters and workers.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "analytics-worker/aggregator.h"
#include "common/analytics/analytics_keys.h"
#include "common/analytics/analytics_sink.h"
#include "common/base/iso_time.h"
#include "proto-events/event_codec.h"
#include "tests/support/support.h"

namespace rl::testing {
namespace {

using nlohmann::json;

class AnalyticsIntegrationTest : public ::testing::Test {
 protected:
  std::unique_ptr<ServiceProcess> StartLimiter(const Env& extra = {}) {
    return testing::StartLimiter(redis_, SharedKafka().bootstrap(), topic_, extra);
  }
  std::unique_ptr<ServiceProcess> StartGateway(const std::vector<const ServiceProcess*>& limiters,
                                               Env extra = {}) {
    std::string urls;
    for (const auto* l : limiters) {
      urls +=
          (urls.empty() ? "" : ",") + std::string("http://127.0.0.1:") + std::to_string(l->port());
    }
    Env env = {{"LIMITER_URLS", urls}, {"ANALYTICS_REDIS_URL", redis_.url()}};
    for (auto& [k, v] : extra) env[k] = v;
    return std::make_unique<ServiceProcess>("gateway", "GATEWAY_PORT", env);
  }
  static json Get(httplib::Client& client, const std::string& path) {
    auto res = client.Get(path);
    return res ? json::parse(res->body, nullptr, false) : json();
  }

  RedisServer redis_;
  const std::string topic_ = std::string("rl.analytics.") +
                             ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string group_ = "group-" + topic_;
};

TEST_F(AnalyticsIntegrationTest, CountsMatchTheDecisionsMadeThroughTheGateway) {
  auto limiter = StartLimiter();
  auto gateway = StartGateway({limiter.get()});
  auto workers = std::vector<std::unique_ptr<ServiceProcess>>();
  workers.push_back(StartWorker(redis_, SharedKafka().bootstrap(), topic_, group_));
  workers.push_back(StartWorker(redis_, SharedKafka().bootstrap(), topic_, group_));
  auto client = gateway->Client();

  // alice: 8 logins on a bucket of 5 (5 allowed, 3 blocked) and 2 searches (allowed).
  int statuses[2] = {0, 0};
  for (int i = 0; i < 8; ++i) {
    auto res = PostCheck(*client, R"({"user_id":"alice","action":"login"})");
    ASSERT_TRUE(res);
    ++statuses[res->status == 200 ? 0 : 1];
  }
  EXPECT_EQ(statuses[0], 5);
  EXPECT_EQ(statuses[1], 3);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(PostCheck(*client, R"({"user_id":"alice","action":"search"})")->status, 200);
  }
  // bob through the protected route, by header and by body: 6 calls, 5 allowed.
  httplib::Headers as_bob = {{"X-User-Id", "bob"}};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(client->Post("/api", as_bob, "", "application/json"));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(client->Post("/api", R"({"user_id":"bob"})", "application/json"));

  ASSERT_TRUE(Eventually([&] { return Get(*client, "/analytics")["total"] == 16; }, 60s))
      << Get(*client, "/analytics").dump();
  json alice = Get(*client, "/analytics/alice");
  EXPECT_EQ(alice["user_id"], "alice");
  EXPECT_EQ(alice["total"], 10);
  EXPECT_EQ(alice["allowed"], 7);
  EXPECT_EQ(alice["blocked"], 3);
  EXPECT_EQ(alice["by_action"]["login"], (json{{"allowed", 5}, {"blocked", 3}}));
  EXPECT_EQ(alice["by_action"]["search"], (json{{"allowed", 2}, {"blocked", 0}}));
  EXPECT_EQ(alice["by_outcome"]["allowed"], 7);
  EXPECT_EQ(alice["by_outcome"]["blocked"], 3);
  // Per-minute buckets by event time: one minute, or two if the test straddled a boundary.
  int in_minutes = 0;
  for (const auto& m : alice["last_minutes"]) {
    in_minutes += m["allowed"].get<int>() + m["blocked"].get<int>();
  }
  EXPECT_EQ(in_minutes, 10) << alice.dump();
  EXPECT_LE(alice["last_minutes"].size(), 2u);
  // Readable times: ISO 8601 UTC minutes, with the epoch seconds beside.
  for (const auto& m : alice["last_minutes"]) {
    const int64_t epoch_s = m["minute_epoch_s"].get<int64_t>();
    EXPECT_EQ(epoch_s % 60, 0);
    EXPECT_EQ(m["minute"], common::IsoUtc(epoch_s));
    EXPECT_EQ(m["minute"].get<std::string>().size(), 20u) << m.dump();  // 2026-11-24T11:37:00Z
  }
  // Which rules blocked her: the login rule, 3 times.
  json by_rule = alice["by_rule"];
  ASSERT_EQ(by_rule.size(), 1u) << alice.dump();
  EXPECT_EQ(by_rule.begin().value()["blocked"], 3) << alice.dump();
  json rules = Get(*client, "/analytics/top?by=rule");
  ASSERT_GE(rules["rules"].size(), 1u) << rules.dump();
  EXPECT_EQ(rules["rules"][0]["rule"], by_rule.begin().key());
  EXPECT_EQ(rules["rules"][0]["blocked"], 4);  // alice's 3 and bob's 1, if one rule
  // The live series counts every answer, by second of event time.
  json series = Get(*client, "/analytics/series?seconds=120");
  int64_t in_series = 0, blocked_in_series = 0;
  for (const auto& second : series["seconds"]) {
    in_series += second["total"].get<int64_t>();
    blocked_in_series += second["blocked"].get<int64_t>();
  }
  EXPECT_EQ(series["seconds"].size(), 120u);
  EXPECT_EQ(in_series, 16);
  EXPECT_EQ(blocked_in_series, 4);
  auto bad = client->Get("/analytics/series?seconds=0");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["code"], "invalid_argument");
  json bob = Get(*client, "/analytics/bob");
  EXPECT_EQ(bob["total"], 6);
  EXPECT_EQ(bob["allowed"], 5);
  EXPECT_EQ(bob["blocked"], 1);
  EXPECT_EQ(bob["by_action"]["api"], (json{{"allowed", 5}, {"blocked", 1}}));

  json global = Get(*client, "/analytics");
  EXPECT_EQ(global["allowed"], 12);
  EXPECT_EQ(global["blocked"], 4);
  json top = Get(*client, "/analytics/top?by=blocked&limit=10");
  ASSERT_EQ(top["users"].size(), 2u);
  EXPECT_EQ(top["users"][0], (json{{"user_id", "alice"}, {"blocked", 3}}));
  EXPECT_EQ(top["users"][1], (json{{"user_id", "bob"}, {"blocked", 1}}));

  json nobody = Get(*client, "/analytics/nobody");
  EXPECT_EQ(nobody, (json{{"user_id", "nobody"},
                          {"total", 0},
                          {"allowed", 0},
                          {"blocked", 0},
                          {"by_action", json::object()},
                          {"by_outcome", json::object()},
                          {"by_rule", json::object()},
                          {"last_minutes", json::array()}}));
}

TEST_F(AnalyticsIntegrationTest, AnApiKeyNeverReachesEventsAnalyticsOrLogsEvenInFailMode) {
  // Limit state on its own Redis, paused: the key cannot be looked up, so the answer is the fail
  // mode's, and its event must name the key by its label only.
  RedisServer state;
  const std::string limits = MakeTempDir("key-leak") + "/limits.yaml";
  std::ofstream(limits) << "rules: [{name: r, limit: 5, window: 1m}]\n"
                           "api_keys_redis_hash: rl:api_keys\n";
  auto limiter = testing::StartLimiter(
      state, SharedKafka().bootstrap(), topic_,
      {{"ANALYTICS_REDIS_URL", redis_.url()}, {"FAIL_MODE", "closed"}, {"LIMITS_FILE", limits}});
  auto gateway = StartGateway({limiter.get()});
  auto worker = StartWorker(redis_, SharedKafka().bootstrap(), topic_, group_);
  auto client = gateway->Client();
  const std::string secret = "sk-live-4f1c9a0b7d2e";
  state.Pause();
  auto res = client->Post("/api", {{"X-API-Key", secret}}, "", "application/json");
  state.Resume();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(json::parse(res->body, nullptr, false)["outcome"], "fail_closed");

  ASSERT_TRUE(Eventually([&] { return Get(*client, "/analytics")["total"] == 1; }, 60s))
      << Get(*client, "/analytics").dump();
  json top = Get(*client, "/analytics/top?by=blocked&limit=10");
  ASSERT_EQ(top["users"].size(), 1u) << top.dump();
  const std::string label = top["users"][0]["user_id"];
  EXPECT_EQ(label.rfind("key:", 0), 0u) << label;
  EXPECT_EQ(label.size(), 12u) << label;
  EXPECT_EQ(Get(*client, "/analytics/" + label)["total"], 1);
  for (const auto& key : KeysBesidesTheLedger(redis_)) {
    EXPECT_EQ(key.find(secret), std::string::npos) << key;
  }
  EXPECT_EQ(redis_.Must({"KEYS", "*" + secret + "*"}).elements.size(), 0u);
  for (const auto& event : ReadDecisions(SharedKafka().bootstrap(), topic_, 1, 30s)) {
    EXPECT_EQ(event.SerializeAsString().find(secret), std::string::npos);
  }
  EXPECT_EQ(limiter->process().LogTail(100000).find(secret), std::string::npos);
  EXPECT_EQ(gateway->process().LogTail(100000).find(secret), std::string::npos);
}

TEST_F(AnalyticsIntegrationTest, AnonymousApiCallersAreLimitedByAddressTrustingOnlyListedProxies) {
  auto limiter = StartLimiter();  // a bucket of 5
  auto direct = StartGateway({limiter.get()});
  auto behind_proxy = StartGateway({limiter.get()}, {{"TRUSTED_PROXIES", "127.0.0.0/8"}});
  // A direct client cannot escape its bucket by making up X-Forwarded-For.
  int allowed = 0;
  for (int i = 0; i < 8; ++i) {
    auto res = direct->Client()->Post(
        "/api", {{"X-Forwarded-For", "203.0.113." + std::to_string(i)}}, "", "application/json");
    ASSERT_TRUE(res);
    allowed += res->status == 200;
  }
  EXPECT_EQ(allowed, 5);
  // Behind a trusted proxy, each forwarded client is its own; what it wrote itself is not read.
  for (int i = 0; i < 8; ++i) {
    auto res = behind_proxy->Client()->Post(
        "/api", {{"X-Forwarded-For", "198.51.100.9, 203.0.113." + std::to_string(i)}}, "",
        "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << i;
  }
  std::map<std::string, int> by_user;
  for (const auto& d : ReadDecisions(SharedKafka().bootstrap(), topic_, 16, 30s)) {
    ++by_user[d.user_id()];
  }
  std::map<std::string, int> expected = {{"ip:127.0.0.1", 8}};
  for (int i = 0; i < 8; ++i) expected["ip:203.0.113." + std::to_string(i)] = 1;
  EXPECT_EQ(by_user, expected);
}

// rlctl tail reaches the brokers as the services do, KAFKA_SECURITY_* included (it used raw
// librdkafka with none of them, so it could not reach a SASL/TLS broker).
TEST_F(AnalyticsIntegrationTest, RlctlTailReachesASaslSslBrokerWithTheServicesSettings) {
  KafkaBroker& kafka = SharedKafka();
  CreateTopic(kafka.bootstrap(), topic_, 3);
  auto tail = [&](const std::string& password) {
    Env env = kafka.SecureClientEnv(password);
    env["KAFKA_BROKERS"] = kafka.secure_bootstrap();
    env["KAFKA_TOPIC"] = topic_;
    ChildProcess rlctl({ToolPath("rlctl"), "tail", "--seconds", "3"}, env,
                       MakeTempDir("rlctl-tail") + "/rlctl.log");
    auto code = rlctl.WaitExit(30s);
    return std::make_pair(code.value_or(-1), rlctl.LogTail());
  };
  auto [good, good_log] = tail(KafkaBroker::kSaslPassword);
  EXPECT_EQ(good, 0) << good_log;
  auto [bad, bad_log] = tail("wrong-password");
  EXPECT_EQ(bad, 2) << bad_log;
}

TEST_F(AnalyticsIntegrationTest, KafkaOverSaslSslCarriesEventsAndRefusesBadCredentials) {
  KafkaBroker& kafka = SharedKafka();
  const Env secure = kafka.SecureClientEnv(KafkaBroker::kSaslPassword);
  auto limiter = testing::StartLimiter(redis_, kafka.secure_bootstrap(), topic_, secure);
  auto worker = StartWorker(redis_, kafka.secure_bootstrap(), topic_, group_, secure);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Outcome(PostCheck(*limiter->Client(), R"({"user_id":"sec"})")), "allowed");
  }
  EXPECT_TRUE(
      Eventually([&] { return HashInt(redis_, analytics::UserKey("sec"), "total") == 5; }, 30s))
      << "limiter and worker over SASL_SSL: " << HashInt(redis_, analytics::UserKey("sec"), "total")
      << " counted\n"
      << limiter->process().LogTail() << worker->process().LogTail();

  // A wrong password, or a broker certificate nobody vouched for: answers are unaffected, every
  // event is counted as failed, the reason is logged, and no password is.
  Env wrong_password = kafka.SecureClientEnv("not-the-password-42");
  Env unknown_ca = secure;
  unknown_ca.erase("KAFKA_SSL_CA_LOCATION");
  for (auto [env, reason, user] :
       {std::tuple{wrong_password, "Authentication failed", "sec-auth"},
        std::tuple{unknown_ca, "certificate verify failed", "sec-tls"}}) {
    env["KAFKA_MESSAGE_TIMEOUT_MS"] = "1000";
    env["KAFKA_FLUSH_TIMEOUT_MS"] = "100";
    env["KAFKA_STARTUP_WAIT_MS"] = "0";
    auto refused = testing::StartLimiter(redis_, kafka.secure_bootstrap(), topic_ + "-x", env);
    auto client = refused->Client();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(Outcome(PostCheck(*client, std::string(R"({"user_id":")") + user + R"("})")),
                "allowed")
          << reason;
    }
    EXPECT_TRUE(Eventually(
        [&] { return MetricValue(*client, "rl_events_delivery_failed_total") == 3; }, 15s))
        << reason;
    const std::string log = refused->process().LogTail();
    EXPECT_NE(log.find(reason), std::string::npos) << log;
    EXPECT_EQ(log.find("not-the-password-42"), std::string::npos) << log;
    EXPECT_EQ(log.find(KafkaBroker::kSaslPassword), std::string::npos) << log;
  }
}

// A topic is made by CreateTopics only, with the service's KAFKA_PARTITIONS and
// KAFKA_REPLICATION_FACTOR. The worker's group probe (a producer handle) asked for the topic's
// metadata before the worker created it, and the broker auto-created it with its own defaults (3
// partitions of one replica here: in cluster_test a SIGKILLed broker left partitions leaderless).
TEST_F(AnalyticsIntegrationTest, TheTopicIsCreatedWithTheServicesSettingsNeverTheBrokersDefaults) {
  const std::string brokers = SharedKafka().bootstrap();
  auto worker = StartWorker(redis_, brokers, topic_, group_,
                            {{"WORKER_GROUP_LAG_INTERVAL_MS", "100"}, {"KAFKA_PARTITIONS", "5"}});
  ASSERT_TRUE(Eventually([&] { return TopicPartitions(brokers, topic_) > 0; }, 30s));
  EXPECT_EQ(TopicPartitions(brokers, topic_), 5) << "created with the broker's defaults";
}

TEST_F(AnalyticsIntegrationTest, GatewayRejectsBadAnalyticsAndApiRequests) {
  auto limiter = StartLimiter();
  auto gateway = StartGateway({limiter.get()});
  auto client = gateway->Client();
  for (const char* path : {"/analytics/%01x", "/analytics/top?by=allowed", "/analytics/top?limit=0",
                           "/analytics/top?limit=1000", "/analytics/top?limit=abc"}) {
    auto res = client->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << path;
    EXPECT_EQ(json::parse(res->body, nullptr, false)["error"]["code"], "invalid_argument") << path;
  }
  auto long_user = client->Get("/analytics/" + std::string(200, 'x'));
  EXPECT_EQ(long_user->status, 400);
  for (auto [body, type] :
       std::vector<std::pair<std::string, std::string>>{{"{", "application/json"},  // malformed
                                                        {R"({"user_id":7})", "application/json"},
                                                        {R"({"user_id":"a"})", "text/plain"}}) {
    auto res = client->Post("/api", body, type);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body;
  }
  EXPECT_EQ(KeysBesidesTheLedger(redis_), std::vector<std::string>{})
      << "a rejected request reached Redis";
}

// The first analytics query after a Redis restart once failed with 503: its pooled connection
// was dead. A dead pooled connection now drops the idle ones and an idempotent call is sent once
// more on a new connection, counted and logged.
// /check accepts user ids such as "top" or "workers", which /analytics/<user> answers as other
// endpoints; /analytics/users/<user> reaches every user.
TEST_F(AnalyticsIntegrationTest, EveryUserIdIsReadableAtAnalyticsUsers) {
  auto limiter = StartLimiter();
  auto gateway = StartGateway({limiter.get()});
  auto worker = StartWorker(redis_, SharedKafka().bootstrap(), topic_, group_);
  auto client = gateway->Client();
  for (const char* user : {"top", "workers"}) {
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(PostCheck(*client, std::string(R"({"user_id":")") + user + "\"}")->status, 200);
    }
  }
  for (const char* user : {"top", "workers"}) {
    EXPECT_TRUE(Eventually(
        [&] { return Get(*client, std::string("/analytics/users/") + user)["total"] == 2; }, 30s))
        << user;
    EXPECT_EQ(Get(*client, std::string("/analytics/users/") + user)["user_id"], user);
  }
  EXPECT_TRUE(Get(*client, "/analytics/top").contains("users"));  // still the top list
}

TEST_F(AnalyticsIntegrationTest, TheFirstQueriesAfterARedisRestartAnswer) {
  auto limiter = StartLimiter();
  auto gateway = StartGateway({limiter.get()});
  auto client = gateway->Client();
  for (const char* path : {"/analytics/u1", "/analytics/top", "/analytics/u1"}) {
    auto res = client->Get(path);
    ASSERT_TRUE(res) << path;
    ASSERT_EQ(res->status, 200) << path << " " << res->body;
  }
  redis_.Kill();
  redis_.Start();
  for (const char* path : {"/analytics/u1", "/analytics/top"}) {
    auto res = client->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path << " " << res->body;
  }
  EXPECT_GE(MetricValue(*client, R"(rl_redis_stale_retries_total{redis="analytics"})"), 1);
}

TEST_F(AnalyticsIntegrationTest, ApiAnswers429WithTheLimitersHeadersWhenBlocked) {
  auto limiter = StartLimiter({{"DEFAULT_CAPACITY", "1"}});
  auto gateway = StartGateway({limiter.get()});
  auto client = gateway->Client();
  httplib::Headers carol = {{"X-User-Id", "carol"}};
  auto ok = client->Post("/api", carol, "", "application/json");
  ASSERT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body)["ok"], true);
  auto blocked = client->Post("/api", carol, "", "application/json");
  ASSERT_EQ(blocked->status, 429);
  EXPECT_EQ(json::parse(blocked->body)["error"]["code"], "rate_limited");
  EXPECT_FALSE(blocked->get_header_value("Retry-After").empty());
  EXPECT_EQ(blocked->get_header_value("X-RateLimit-Remaining"), "0");
  EXPECT_FALSE(blocked->get_header_value("RateLimit-Policy").empty());
  // An API key the limiter does not know is refused with its 401.
  auto unknown =
      client->Post("/api", httplib::Headers{{"X-API-Key", "key-nobody"}}, "", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(json::parse(unknown->body)["error"]["code"], "unauthenticated");
}

TEST_F(AnalyticsIntegrationTest, GatewayFailsOverToTheNextLimiterThenAppliesItsFailMode) {
  auto a = StartLimiter({{"DEFAULT_CAPACITY", "100"}});
  auto b = StartLimiter({{"DEFAULT_CAPACITY", "100"}});
  auto gateway = StartGateway({a.get(), b.get()}, {{"FAIL_MODE", "closed"}});
  auto client = gateway->Client();
  ASSERT_EQ(PostCheck(*client, R"({"user_id":"dave"})")->status, 200);
  a->process().Signal(SIGKILL);
  a->process().WaitExit(10s);
  for (int i = 0; i < 6; ++i) {
    auto res = PostCheck(*client, R"({"user_id":"dave"})");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << "round-robin must skip the dead limiter";
  }
  EXPECT_GE(MetricValue(*client, "rl_gateway_limiter_failures_total{limiter=\"http://127.0.0.1:" +
                                     std::to_string(a->port()) + "\"}"),
            1);
  b->process().Signal(SIGKILL);
  b->process().WaitExit(10s);
  auto res = PostCheck(*client, R"({"user_id":"dave"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(json::parse(res->body)["outcome"], "fail_closed");
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_EQ(client->Get("/health")->status, 503);
}

// Readiness follows the fail mode. With Redis paused, /health said 503 while /check answered
// fail_open, so a readiness probe on it pulled every instance and turned fail-open into an outage.
// /ready is 200 while the service answers as configured: under FAIL_MODE=open always, under
// closed only while Redis (limiter) or a limiter (gateway) answers; /live only says it serves.
TEST_F(AnalyticsIntegrationTest, ReadinessFollowsTheFailModeWhileRedisIsPaused) {
  auto open = StartLimiter({{"FAIL_MODE", "open"}, {"REDIS_TIMEOUT_MS", "100"}});
  auto closed = StartLimiter({{"FAIL_MODE", "closed"}, {"REDIS_TIMEOUT_MS", "100"}});
  auto open_client = open->Client();
  auto closed_client = closed->Client();
  EXPECT_EQ(open_client->Get("/ready")->status, 200);
  EXPECT_EQ(closed_client->Get("/ready")->status, 200);
  redis_.Pause();
  EXPECT_EQ(Outcome(PostCheck(*open_client, R"({"user_id":"rita"})")), "fail_open");
  EXPECT_EQ(open_client->Get("/ready")->status, 200);
  EXPECT_EQ(open_client->Get("/live")->status, 200);
  EXPECT_EQ(open_client->Get("/health")->status, 503);  // for people: Redis is down
  auto refused = closed_client->Get("/ready");
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(Body(refused)["redis"]["ok"], false);
  EXPECT_EQ(closed_client->Get("/live")->status, 200);
  redis_.Resume();
  EXPECT_TRUE(Eventually([&] { return closed_client->Get("/ready")->status == 200; }, 5s));
}

// A hung limiter (SIGSTOP), once its health check marked it down, costs the gateway nothing:
// every /check is answered at once by the fail mode. Before, each waited LIMITER_TIMEOUT_MS.
TEST_F(AnalyticsIntegrationTest, TheGatewayNeverWaitsOnALimiterMarkedDown) {
  auto limiter = StartLimiter();
  const Env fast = {{"LIMITER_HEALTH_INTERVAL_MS", "100"}, {"LIMITER_TIMEOUT_MS", "1000"}};
  Env open_env = fast, closed_env = fast;
  open_env["FAIL_MODE"] = "open";
  closed_env["FAIL_MODE"] = "closed";
  auto open_gateway = StartGateway({limiter.get()}, open_env);
  auto closed_gateway = StartGateway({limiter.get()}, closed_env);
  auto open_client = open_gateway->Client();
  auto closed_client = closed_gateway->Client();
  ASSERT_EQ(PostCheck(*open_client, R"({"user_id":"hank"})")->status, 200);
  limiter->process().Signal(SIGSTOP);
  // Marked down by its health check within an interval and a timeout.
  ASSERT_TRUE(Eventually([&] { return Body(open_client->Get("/ready"))["limiters_up"] == 0; }, 5s));
  ASSERT_TRUE(
      Eventually([&] { return Body(closed_client->Get("/ready"))["limiters_up"] == 0; }, 5s));
  EXPECT_EQ(open_client->Get("/ready")->status, 200);    // it answers fail_open, as configured
  EXPECT_EQ(closed_client->Get("/ready")->status, 503);  // it can only refuse
  std::chrono::steady_clock::duration slowest{};
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = PostCheck(*open_client, R"({"user_id":"hank"})");
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    ASSERT_TRUE(res);
    EXPECT_EQ(Outcome(res), "fail_open");
  }
  EXPECT_LT(slowest, 300ms) << "a /check waited on the limiter marked down";
  limiter->process().Signal(SIGCONT);
  EXPECT_TRUE(Eventually(
      [&] { return Outcome(PostCheck(*open_client, R"({"user_id":"hank"})")) == "allowed"; }, 5s));
}

TEST_F(AnalyticsIntegrationTest, GatewayForwardsBatchesAndAnswersEachCheckByItsFailMode) {
  auto limiter = StartLimiter();  // a bucket of 5
  auto gateway = StartGateway({limiter.get()}, {{"FAIL_MODE", "closed"}});
  auto client = gateway->Client();
  const std::string batch =
      R"({"checks":[{"user_id":"gb"},{"user_id":"gb","cost":5},{"user_id":7}]})";
  auto res = client->Post("/check/batch", batch, "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json results = json::parse(res->body)["results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["status"], 200);
  EXPECT_EQ(results[1]["status"], 429);
  EXPECT_EQ(results[2]["status"], 400);
  limiter->process().Signal(SIGKILL);
  limiter->process().WaitExit(10s);
  res = client->Post("/check/batch", batch, "application/json");
  ASSERT_TRUE(res);
  const json failed = json::parse(res->body)["results"];
  ASSERT_EQ(failed.size(), 3u) << res->body;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(failed[i]["status"], 503);
    EXPECT_EQ(failed[i]["outcome"], "fail_closed");
  }
  // A bad item is the client's error whatever the limiters' state (it was answered fail_closed).
  EXPECT_EQ(failed[2]["status"], 400);
  EXPECT_EQ(failed[2]["error"]["code"], "invalid_argument");
}

// With no limiter up, the gateway still refuses what the limiters would refuse (it answered
// garbage with 200 fail_open), and its fail-mode answers are decisions with events: analytics,
// the per-second series and the ledger count them exactly (they appeared nowhere before).
TEST_F(AnalyticsIntegrationTest, TheGatewaysOwnFailModeAnswersAreValidatedDecisionsInAnalytics) {
  const std::string topic = topic_;
  auto worker = StartWorker(redis_, SharedKafka().bootstrap(), topic, group_);
  ServiceProcess gateway("gateway", "GATEWAY_PORT",
                         {{"LIMITER_URLS", "http://127.0.0.1:1"},
                          {"ANALYTICS_REDIS_URL", redis_.url()},
                          {"KAFKA_BROKERS", SharedKafka().bootstrap()},
                          {"KAFKA_TOPIC", topic},
                          {"KAFKA_PARTITIONS", "3"},
                          {"GATEWAY_ID", "gw-test"},
                          {"GATEWAY_PROGRESS_INTERVAL_MS", "50"}});
  auto client = gateway.Client();
  for (const auto& [body, type, status] : std::vector<std::tuple<std::string, std::string, int>>{
           {"garbage", "application/json", 400},
           {R"({"user_id":7})", "application/json", 400},
           {R"({"user_id":"u"})", "text/plain", 415},
           {std::string(5000, ' '), "application/json", 413},
           {R"({"checks":"no"})", "application/json", 400}}) {
    const std::string path = body.find("checks") != std::string::npos ? "/check/batch" : "/check";
    auto res = client->Post(path, body, type);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << body.substr(0, 40);
    EXPECT_TRUE(Body(res).contains("error")) << res->body;
  }
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Outcome(PostCheck(*client, R"({"user_id":"gfo"})")), "fail_open");
  auto batch = client->Post("/check/batch", R"({"checks":[{"user_id":"gfo"},{"cost":0}]})",
                            "application/json");
  ASSERT_TRUE(batch);
  EXPECT_EQ(Body(batch)["results"][0]["outcome"], "fail_open");
  EXPECT_EQ(Body(batch)["results"][1]["status"], 400);
  auto api = client->Post("/api", R"({"user_id":"gfo"})", "application/json");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
  // 3 + 1 + 1 fail-open decisions, each counted once, by the gateway's id.
  ASSERT_TRUE(Eventually([&] { return HashInt(redis_, "rla:global", "total") == 5; }, 30s))
      << HashInt(redis_, "rla:global", "total");
  json user = Body(client->Get("/analytics/gfo"));
  EXPECT_EQ(user["total"], 5);
  EXPECT_EQ(user["by_outcome"]["fail_open"], 5) << user.dump();
  ASSERT_TRUE(Eventually(
      [&] {
        const json ledger = Body(client->Get("/analytics/limiters"));  // held: iterated below
        for (const auto& l : ledger["limiters"]) {
          if (l["limiter_id"] == "gw-test" && l["decided"] == 5 && l["seen"] == 5 &&
              l["missing"] == 0) {
            return true;
          }
        }
        return false;
      },
      10s))
      << Body(client->Get("/analytics/limiters")).dump();
}

TEST_F(AnalyticsIntegrationTest, PoisonMessagesAreSkippedCountedAndDoNotStopTheWorker) {
  CreateTopic(SharedKafka().bootstrap(), topic_, 2);
  auto worker = StartWorker(redis_, SharedKafka().bootstrap(), topic_, group_);
  EventProducer producer(SharedKafka().bootstrap(), topic_);
  common::SystemClock clock;
  const std::vector<std::string> poison = {"", "\xff\xff\xff\xff", "not protobuf at all",
                                           std::string(1000, '\x08')};
  for (int round = 0; round < 5; ++round) {
    for (const auto& bytes : poison) producer.Produce("poison", bytes, round % 2);
    producer.Produce(
        "erin", events::EncodeDecision(MakeDecision("erin", round != 0, clock.NowMs())), round % 2);
  }
  ASSERT_TRUE(producer.Flush(30s));
  ASSERT_EQ(producer.acked(), 25u);
  auto client = worker->Client();
  ASSERT_TRUE(Eventually([&] { return HashInt(redis_, "rla:global", "total") == 5; }, 60s));
  EXPECT_EQ(HashInt(redis_, analytics::UserKey("erin"), "allowed"), 4);
  EXPECT_EQ(HashInt(redis_, analytics::UserKey("erin"), "blocked"), 1);
  EXPECT_EQ(MetricValue(*client, "rl_analytics_undecodable_total"), 20);
  // Positions moved past the poison: partition positions add up to every message.
  auto positions = redis_.Must({"HVALS", analytics::OffsetsKey(topic_)});
  int64_t sum = 0;
  for (const auto& p : positions.elements) sum += std::stoll(p.str);
  EXPECT_EQ(sum, 25);
  EXPECT_TRUE(worker->process().Running());
  EXPECT_EQ(client->Get("/health")->status, 200);
}

TEST(AnalyticsSinkFencing, ABatchCountsOnceAndOnlyFromTheStoredPosition) {
  RedisServer redis;
  common::SystemClock clock;
  analytics::RedisAnalyticsSink sink(redis.client(), "t", clock);
  auto one_event = analytics::AggregateDecisions({MakeDecision("u", true, clock.NowMs())}, 60);
  auto total = [&] { return HashInt(redis, "rla:global", "total"); };

  ASSERT_TRUE(sink.LoadPositions({0, 1})->empty());
  auto first = sink.ApplyBatch(0, 0, 10, one_event);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->applied);
  EXPECT_EQ(first->position, 10);

  auto replay = sink.ApplyBatch(0, 0, 10, one_event);  // a zombie owner re-applying
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(replay->applied);
  EXPECT_EQ(replay->position, 10);
  auto overlap = sink.ApplyBatch(0, 5, 15, one_event);
  EXPECT_FALSE(overlap->applied);
  EXPECT_EQ(total(), 1);

  redis.Must({"SCRIPT", "FLUSH"});  // NOSCRIPT is survived
  auto next = sink.ApplyBatch(0, 10, 12, one_event);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_TRUE(next->applied);
  EXPECT_EQ(total(), 2);
  EXPECT_EQ(sink.LoadPositions({0, 1}).value(), (std::map<int32_t, int64_t>{{0, 12}}));

  auto other_partition = sink.ApplyBatch(1, 0, 3, one_event);
  EXPECT_TRUE(other_partition->applied);
  EXPECT_EQ(total(), 3);
}

}  // namespace
}  // namespace rl::testing

namespace rl::testing {
namespace {

TEST_F(AnalyticsIntegrationTest, ARequestIdTravelsFromTheGatewayToTheAnswerTheEventAndTheLogs) {
  auto limiter = StartLimiter({{"LOG_FORMAT", "json"}, {"LOG_LEVEL", "debug"}});
  auto gateway = StartGateway({limiter.get()}, {{"LOG_FORMAT", "json"}});
  auto client = gateway->Client();
  // Given: kept, and passed on to the limiter.
  auto given = client->Post("/check", {{"X-Request-Id", "req-abc.123"}},
                            R"({"user_id":"rid-user"})", "application/json");
  ASSERT_TRUE(given);
  EXPECT_EQ(given->get_header_value("X-Request-Id"), "req-abc.123");
  // Absent or not a valid id: a new one, 32 hex digits.
  auto made = client->Post("/check", {{"X-Request-Id", "bad id with spaces"}},
                           R"({"user_id":"rid-user"})", "application/json");
  ASSERT_TRUE(made);
  const std::string new_id = made->get_header_value("X-Request-Id");
  EXPECT_EQ(new_id.size(), 32u) << new_id;
  EXPECT_EQ(new_id.find_first_not_of("0123456789abcdef"), std::string::npos) << new_id;
  auto events = ReadDecisions(SharedKafka().bootstrap(), topic_, 2, std::chrono::seconds(20));
  ASSERT_EQ(events.size(), 2u);
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e.request_id());
  EXPECT_EQ(ids, (std::set<std::string>{"req-abc.123", new_id}));
  // LOG_FORMAT=json: every line of both logs is one JSON object with ts, level, service and msg;
  // the limiter's access line (LOG_LEVEL=debug) of the first request carries its id.
  bool access_line_with_id = false;
  for (auto* service : {limiter.get(), gateway.get()}) {
    std::ifstream log(service->process().log_path());
    int lines = 0;
    for (std::string line; std::getline(log, line);) {
      json entry = json::parse(line, nullptr, false);
      ASSERT_TRUE(entry.is_object()) << service->name() << ": " << line;
      EXPECT_TRUE(entry.contains("ts") && entry.contains("level") && entry.contains("msg")) << line;
      EXPECT_EQ(entry["service"], service->name() == "gateway" ? "gateway" : "limiter");
      access_line_with_id =
          access_line_with_id || (entry.value("request_id", "") == "req-abc.123" &&
                                  entry.value("msg", "").find("POST /check") != std::string::npos);
      ++lines;
    }
    EXPECT_GT(lines, 0) << service->name();
  }
  EXPECT_TRUE(access_line_with_id) << limiter->process().LogTail();
}

}  // namespace
}  // namespace rl::testing
