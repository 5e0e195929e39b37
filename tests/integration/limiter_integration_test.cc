// The limiter's decision path against a real redis-server and a real Kafka broker, through real
// limiter processes.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/base/clock.h"
#include "limiter/core/algorithm/algorithms.h"
#include "limiter/core/keys.h"
#include "limiter/store/redis_decision_store.h"
#include "tests/support/algorithm_cases.h"
#include "tests/support/algorithm_model.h"
#include "tests/support/support.h"

namespace rl::testing {
namespace {

using nlohmann::json;

class LimiterIntegrationTest : public ::testing::Test {
 protected:
  std::unique_ptr<ServiceProcess> StartLimiter(const Env& extra = {}) {
    return testing::StartLimiter(redis_, SharedKafka().bootstrap(), topic_, extra);
  }

  RedisServer redis_;
  const std::string topic_ =
      std::string("rl.test.") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
};

TEST_F(LimiterIntegrationTest, BurstAcrossTwoLimitersAdmitsExactlyCapacity) {
  constexpr int kCapacity = 40;
  constexpr int kRequests = 3 * kCapacity;
  auto a = StartLimiter({{"DEFAULT_CAPACITY", std::to_string(kCapacity)}});
  auto b = StartLimiter({{"DEFAULT_CAPACITY", std::to_string(kCapacity)}});
  std::atomic<int> next{0};
  AnswerTally answers;
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      auto client = (t % 2 ? a : b)->Client();
      while (next.fetch_add(1) < kRequests) {
        answers.Count(PostCheck(*client, R"({"user_id":"burst-user"})"));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(answers.allowed.load(), kCapacity);
  EXPECT_EQ(answers.blocked.load(), kRequests - kCapacity);
  EXPECT_EQ(answers.other.load(), 0);
}

limiter::RuleCheck CheckFor(const std::string& rule, const std::string& user,
                            const limiter::LimitParams& params, int64_t cost) {
  limiter::RuleKeys keys =
      limiter::KeysFor(rule, limiter::StateSchema(params), limiter::Scope::kUser, user, "", "");
  limiter::RuleCheck c;
  c.rule = rule;
  c.key = keys.state;
  c.ban_key = keys.ban;
  c.strike_key = keys.strikes;
  c.params = params;
  c.cost = cost;
  return c;
}

void ExpectSameAnswers(const limiter::RulesAnswer& lua, const limiter::RulesAnswer& model,
                       const std::string& where) {
  ASSERT_EQ(lua.refused_by_ban, model.refused_by_ban) << where;
  ASSERT_EQ(lua.rules.size(), model.rules.size()) << where;
  for (size_t i = 0; i < lua.rules.size(); ++i) {
    const auto &a = lua.rules[i], &b = model.rules[i];
    ASSERT_EQ(a.allowed, b.allowed) << where << " rule " << i;
    ASSERT_EQ(a.remaining, b.remaining) << where << " rule " << i;
    ASSERT_EQ(a.reset_ms, b.reset_ms) << where << " rule " << i;
    ASSERT_EQ(a.retry_after_ms, b.retry_after_ms) << where << " rule " << i;
    ASSERT_EQ(a.banned_ms, b.banned_ms) << where << " rule " << i;
  }
}

TEST_F(LimiterIntegrationTest, LuaScriptPassesEveryAlgorithmTableLikeTheReferenceModel) {
  common::SystemClock clock;
  limiter::RedisDecisionStore store(redis_.client(), clock);
  for (const auto& c : AlgorithmCases()) {
    limiter::ModelStore model;
    for (size_t i = 0; i < c.steps.size(); ++i) {
      const auto& step = c.steps[i];
      const int64_t now = kCaseStartUs + step.at_ms * 1000;
      std::vector<limiter::RuleCheck> checks = {
          CheckFor(c.name, "table-user", c.params, step.cost)};
      auto lua = store.DecideAt(checks, now);
      ASSERT_TRUE(lua.ok()) << lua.status().message();
      const std::string where = c.name + " step " + std::to_string(i);
      ExpectSameAnswers(lua->answer, limiter::DecideRules(model, now, checks), where);
      const auto& a = lua->answer.rules[0];
      EXPECT_EQ(a.allowed, step.allowed) << where;
      EXPECT_NEAR(a.remaining, step.remaining, 1) << where;
      EXPECT_NEAR(a.retry_after_ms, step.retry_after_ms, 1) << where;
    }
  }
}

TEST_F(LimiterIntegrationTest, LuaScriptAgreesWithTheModelOnRandomMultiRuleTraffic) {
  // Every algorithm as one rule of the same request, one in shadow mode, under random costs and
  // clock steps: the script and the model must answer identically. (Penalties are left out here:
  // Redis expires ban keys on its own clock, which this test does not move; the HTTP tests cover
  // bans in real time.)
  common::SystemClock clock;
  limiter::RedisDecisionStore store(redis_.client(), clock);
  limiter::ModelStore model;
  std::mt19937 rng(20261122);
  int64_t now = kCaseStartUs;
  int allowed = 0, blocked = 0;
  for (int step = 0; step < 400; ++step) {
    now += static_cast<int64_t>(rng() % 400'000);  // 0..0.4 s
    const int64_t cost = 1 + static_cast<int64_t>(rng() % 3);
    std::vector<limiter::RuleCheck> checks;
    for (const auto& c : AlgorithmCases()) {
      limiter::LimitParams p = c.params;
      p.limit *= 3;
      p.burst *= 3;
      checks.push_back(CheckFor(c.name, "random-user", p, cost));
    }
    checks[2].shadow = true;
    auto lua = store.DecideAt(checks, now);
    ASSERT_TRUE(lua.ok()) << lua.status().message();
    ExpectSameAnswers(lua->answer, limiter::DecideRules(model, now, checks),
                      "step " + std::to_string(step));
    bool any_block = false;
    for (size_t i = 0; i < checks.size(); ++i) {
      any_block |= !lua->answer.rules[i].allowed && !checks[i].shadow;
    }
    (any_block || lua->answer.refused_by_ban ? blocked : allowed)++;
  }
  EXPECT_GT(allowed, 50);  // the traffic exercised both sides
  EXPECT_GT(blocked, 50);
}

TEST_F(LimiterIntegrationTest, WaitingRefillsTheBucketByTheRightAmountFractionsIncluded) {
  // This test moves time by editing the bucket in Redis, which the local blocked cache cannot see.
  auto limiter = StartLimiter({{"DEFAULT_CAPACITY", "3"},
                               {"DEFAULT_REFILL_PER_SEC", "0.5"},
                               {"BLOCKED_CACHE_ENTRIES", "0"}});
  auto client = limiter->Client();
  const std::string body = R"({"user_id":"refill-user"})";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(PostCheck(*client, body)->status, 200);
  auto blocked = PostCheck(*client, body);
  ASSERT_EQ(blocked->status, 429);
  EXPECT_GT(Body(blocked)["retry_after_ms"].get<int64_t>(), 1900);  // 1 token at 0.5/s: 2 s
  EXPECT_EQ(blocked->get_header_value("Retry-After"), "2");

  // Pretend 3 s passed since the last update: 1.5 tokens come back. One request of cost 1 is
  // allowed and the half token stays, so the next waits ~1 s for the other half.
  const std::string key =
      limiter::KeysFor("default", "tb", limiter::Scope::kUserAction, "refill-user", "default", "")
          .state;
  redis_.Must({"HINCRBY", key, "t", "-3000000"});
  auto allowed = PostCheck(*client, body);
  ASSERT_EQ(allowed->status, 200);
  EXPECT_EQ(Body(allowed)["remaining"], 0);
  auto again = PostCheck(*client, body);
  ASSERT_EQ(again->status, 429);
  int64_t retry = Body(again)["retry_after_ms"].get<int64_t>();
  EXPECT_GT(retry, 900);
  EXPECT_LE(retry, 1000);
}

TEST_F(LimiterIntegrationTest, RealTimeRefillAdmitsAgainAfterRetryAfter) {
  auto limiter = StartLimiter({{"DEFAULT_CAPACITY", "1"}, {"DEFAULT_REFILL_PER_SEC", "20"}});
  auto client = limiter->Client();
  const std::string body = R"({"user_id":"clock-user"})";
  ASSERT_EQ(PostCheck(*client, body)->status, 200);
  auto blocked = PostCheck(*client, body);
  ASSERT_EQ(blocked->status, 429);
  int64_t retry_ms = Body(blocked)["retry_after_ms"].get<int64_t>();
  EXPECT_LE(retry_ms, 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(retry_ms + 5));  // the refill under test
  EXPECT_EQ(PostCheck(*client, body)->status, 200);
}

TEST_F(LimiterIntegrationTest, EveryDecisionIsPublishedToKafkaAndSigtermFlushesThem) {
  auto limiter = StartLimiter();
  auto client = limiter->Client();
  common::SystemClock clock;
  const int64_t start_ms = clock.NowMs();
  std::vector<int> statuses;
  for (int i = 0; i < 8; ++i) {
    statuses.push_back(
        PostCheck(*client, R"({"user_id":"event-user","action":"login","cost":1})")->status);
  }
  limiter->process().Signal(SIGTERM);
  ASSERT_EQ(limiter->process().WaitExit(30s), 0) << limiter->process().LogTail();

  auto events = ReadDecisions(SharedKafka().bootstrap(), topic_, 8, 60s);
  ASSERT_EQ(events.size(), 8u);
  std::sort(events.begin(), events.end(), [](const auto& x, const auto& y) {
    return std::stoll(x.event_id().substr(x.event_id().rfind('-') + 1)) <
           std::stoll(y.event_id().substr(y.event_id().rfind('-') + 1));
  });
  std::set<std::string> ids;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    ids.insert(e.event_id());
    EXPECT_EQ(e.user_id(), "event-user");
    EXPECT_EQ(e.action(), "login");
    EXPECT_EQ(e.rule(), "default");
    EXPECT_EQ(e.cost(), 1);
    EXPECT_EQ(e.limit(), 5);
    EXPECT_EQ(e.outcome(), i < 5 ? events::v1::OUTCOME_ALLOWED : events::v1::OUTCOME_BLOCKED);
    EXPECT_EQ(e.allowed(), statuses[i] == 200);
    EXPECT_EQ(e.remaining(), i < 5 ? 4 - static_cast<int64_t>(i) : 0);
    EXPECT_EQ(e.event_id().rfind(e.limiter_id() + "-", 0), 0u);
    EXPECT_GE(e.ts_ms(), start_ms - 1000);
    EXPECT_LE(e.ts_ms(), clock.NowMs() + 1000);
  }
  EXPECT_EQ(ids.size(), 8u);
}

void ExpectFailModeAndRecovery(RedisServer& redis, ServiceProcess& limiter, bool kill,
                               int expected_status, const std::string& expected_outcome) {
  auto client = limiter.Client();
  const std::string body = R"({"user_id":"fail-user"})";
  ASSERT_EQ(PostCheck(*client, body)->status, 200);
  kill ? redis.Kill() : redis.Pause();
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto res = PostCheck(*client, body);
    auto elapsed = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, expected_status);
    EXPECT_EQ(json::parse(res->body)["outcome"], expected_outcome);
    // REDIS_TIMEOUT_MS is 50; the margin is generous so a busy CI machine does not flake.
    EXPECT_LT(elapsed, 750ms);
    if (expected_status == 503) EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  }
  EXPECT_GE(MetricValue(*client, "rl_decisions_total{outcome=\"" + expected_outcome + "\"}"), 5);
  // Five failures in a row open the circuit breaker: Redis is no longer called until a probe.
  EXPECT_GE(MetricValue(*client, "rl_redis_circuit_opened_total"), 1);
  EXPECT_EQ(MetricValue(*client, "rl_redis_circuit_state"), 1);
  kill ? redis.Start() : redis.Resume();
  // Recovered means Redis decides again. After a pause the answer may be "blocked": commands
  // that timed out were still in Redis's socket buffers and ran on SIGCONT, charging the bucket.
  EXPECT_TRUE(Eventually(
      [&] {
        auto res = PostCheck(*client, body);
        std::string outcome =
            res ? json::parse(res->body, nullptr, false).value("outcome", "") : "";
        return outcome == "allowed" || outcome == "blocked";
      },
      10s))
      << "no recovery after Redis came back";
}

TEST_F(LimiterIntegrationTest, FailOpenAllowsWhileRedisIsDeadAndRecovers) {
  auto limiter = StartLimiter({{"FAIL_MODE", "open"}});
  ExpectFailModeAndRecovery(redis_, *limiter, /*kill=*/true, 200, "fail_open");
}

TEST_F(LimiterIntegrationTest, FailClosedAnswers503WhileRedisIsDeadAndRecovers) {
  auto limiter = StartLimiter({{"FAIL_MODE", "closed"}});
  ExpectFailModeAndRecovery(redis_, *limiter, /*kill=*/true, 503, "fail_closed");
}

TEST_F(LimiterIntegrationTest, PausedRedisHitsTheTimeoutAndRecovers) {
  auto limiter = StartLimiter({{"FAIL_MODE", "open"}, {"REDIS_TIMEOUT_MS", "50"}});
  ExpectFailModeAndRecovery(redis_, *limiter, /*kill=*/false, 200, "fail_open");
}

TEST_F(LimiterIntegrationTest, ScriptFlushIsSurvivedByReloadingTheScript) {
  auto limiter = StartLimiter();
  auto client = limiter->Client();
  ASSERT_EQ(PostCheck(*client, R"({"user_id":"noscript"})")->status, 200);
  redis_.Must({"SCRIPT", "FLUSH"});
  auto res = PostCheck(*client, R"({"user_id":"noscript"})");
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(Body(res)["remaining"], 3);
  EXPECT_GE(MetricValue(*client, "rl_redis_script_reloads_total"), 1);
}

httplib::Result PostBatch(httplib::Client& client, const std::vector<std::string>& checks) {
  std::string body = R"({"checks":[)";
  for (size_t i = 0; i < checks.size(); ++i) body += (i ? "," : "") + checks[i];
  return client.Post("/check/batch", body + "]}", "application/json");
}

TEST_F(LimiterIntegrationTest, ABatchAnswersEveryCheckInOrderWithErrorsOfItsOwn) {
  auto limiter = StartLimiter();  // a bucket of 5 per user and action
  auto client = limiter->Client();
  auto res = PostBatch(*client, {R"({"user_id":"b1"})", R"({"user_id":"b1","cost":3})",
                                 R"({"user_id":""})", R"({"user_id":"b1","cost":2})",
                                 R"({"user_id":"b2","cost":9})", R"({"user_id":"b2"})"});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json results = Body(res)["results"];
  ASSERT_EQ(results.size(), 6u) << res->body;
  EXPECT_EQ(results[0]["status"], 200);
  EXPECT_EQ(results[0]["remaining"], 4);
  EXPECT_EQ(results[1]["status"], 200);
  EXPECT_EQ(results[1]["remaining"], 1);
  EXPECT_EQ(results[2]["status"], 400);
  EXPECT_EQ(results[2]["error"]["code"], "invalid_argument");
  EXPECT_EQ(results[3]["status"], 429);  // 2 asked, 1 left: refused and not charged
  EXPECT_EQ(results[3]["outcome"], "blocked");
  EXPECT_GT(results[3]["retry_after_ms"].get<int64_t>(), 0);
  EXPECT_EQ(results[4]["status"], 400);  // a cost above the bucket can never be admitted
  EXPECT_EQ(results[5]["remaining"], 4);
  EXPECT_EQ(Body(PostCheck(*client, R"({"user_id":"b1"})"))["remaining"], 0);  // 1 was left
  EXPECT_EQ(MetricValue(*client, "rl_decisions_total{outcome=\"allowed\"}"), 4);
}

TEST_F(LimiterIntegrationTest, AHundredChecksOfOneUserAdmitExactlyTheBucket) {
  auto limiter = StartLimiter();
  auto client = limiter->Client();
  std::vector<std::string> checks(100, R"({"user_id":"crowd"})");
  auto res = PostBatch(*client, checks);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json results = Body(res)["results"];
  ASSERT_EQ(results.size(), 100u);
  int allowed = 0;
  for (const auto& r : results) allowed += r["status"] == 200;
  EXPECT_EQ(allowed, 5);
  checks.push_back(R"({"user_id":"crowd"})");
  EXPECT_EQ(PostBatch(*client, checks)->status, 400);  // 101 checks
  EXPECT_EQ(client->Get("/check/batch")->status, 405);
  auto huge = client->Post("/check/batch", std::string(70 * 1024, ' '), "application/json");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
}

TEST_F(LimiterIntegrationTest, ABatchSurvivesScriptFlushAndFailsOverToTheFailModeAsAWhole) {
  auto limiter = StartLimiter({{"FAIL_MODE", "closed"}, {"REDIS_TIMEOUT_MS", "100"}});
  auto client = limiter->Client();
  ASSERT_EQ(PostBatch(*client, {R"({"user_id":"p1"})", R"({"user_id":"p2"})"})->status, 200);
  redis_.Must({"SCRIPT", "FLUSH"});  // every EVALSHA of the pipeline answers NOSCRIPT
  auto res =
      PostBatch(*client, {R"({"user_id":"p1"})", R"({"user_id":"p2"})", R"({"user_id":"p3"})"});
  ASSERT_TRUE(res);
  json results = Body(res)["results"];
  EXPECT_EQ(results[0]["remaining"], 3);
  EXPECT_EQ(results[1]["remaining"], 3);
  EXPECT_EQ(results[2]["remaining"], 4);
  EXPECT_GE(MetricValue(*client, "rl_redis_script_reloads_total"), 1);
  redis_.Pause();  // the pipeline times out: every check gets the fail mode, within the timeout
  const auto t0 = std::chrono::steady_clock::now();
  res = PostBatch(*client, {R"({"user_id":"p1"})", R"({"user_id":"p4"})"});
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  redis_.Resume();
  ASSERT_TRUE(res);
  const json failed = Body(res)["results"];
  ASSERT_EQ(failed.size(), 2u);
  for (const auto& r : failed) {
    EXPECT_EQ(r["status"], 503);
    EXPECT_EQ(r["outcome"], "fail_closed");
  }
  EXPECT_LT(elapsed, 1s);  // 100 ms timeout; the bound is the point, generous for a busy machine
  EXPECT_TRUE(Eventually(
      [&] {
        auto again = PostBatch(*client, {R"({"user_id":"p5"})"});
        return again && Body(again)["results"][0]["status"] == 200;
      },
      10s));  // a broken connection is not reused: the next batch reconnects
}

struct BadRequest {
  const char* name;
  std::string content_type;
  std::string body;
  int status;
  const char* code;
};

TEST_F(LimiterIntegrationTest, BadInputsGetA4xxJsonErrorAndTouchNothing) {
  auto limiter = StartLimiter();
  auto client = limiter->Client();
  const std::vector<BadRequest> cases = {
      {"text_content_type", "text/plain", R"({"user_id":"u"})", 415, "unsupported_media_type"},
      {"form_content_type", "application/x-www-form-urlencoded", "user_id=u", 415,
       "unsupported_media_type"},
      {"empty_body", "application/json", "", 400, "invalid_argument"},
      {"truncated", "application/json", R"({"user_id":)", 400, "invalid_argument"},
      {"not_object", "application/json", "[1,2]", 400, "invalid_argument"},
      {"missing_user", "application/json", "{}", 400, "invalid_argument"},
      {"long_user", "application/json", "{\"user_id\":\"" + std::string(200, 'x') + "\"}", 400,
       "invalid_argument"},
      {"control_user", "application/json", R"({"user_id":"a\nb"})", 400, "invalid_argument"},
      {"bad_action", "application/json", R"({"user_id":"u","action":"a/b"})", 400,
       "invalid_argument"},
      {"zero_cost", "application/json", R"({"user_id":"u","cost":0})", 400, "invalid_argument"},
      {"cost_above_capacity", "application/json", R"({"user_id":"u","cost":6})", 400,
       "invalid_argument"},
      {"string_cost", "application/json", R"({"user_id":"u","cost":"2"})", 400, "invalid_argument"},
      {"deeply_nested", "application/json", std::string(1000, '[') + std::string(1000, ']'), 400,
       "invalid_argument"},
      {"oversized", "application/json",
       "{\"user_id\":\"u\",\"pad\":\"" + std::string(5000, 'p') + "\"}", 413, "payload_too_large"},
  };
  for (const auto& c : cases) {
    auto res = client->Post("/check", c.body, c.content_type);
    ASSERT_TRUE(res) << c.name;
    EXPECT_EQ(res->status, c.status) << c.name;
    json body = json::parse(res->body, nullptr, false);
    EXPECT_EQ(body["error"]["code"], c.code) << c.name << ": " << res->body;
    EXPECT_TRUE(body["error"]["message"].is_string()) << c.name;
  }
  auto get = client->Get("/check");
  EXPECT_EQ(get->status, 405);
  auto missing = client->Get("/no/such/path");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body, nullptr, false)["error"]["code"], "not_found");

  EXPECT_EQ(KeysBesidesTheLedger(redis_), std::vector<std::string>{})
      << "a bad request reached Redis";
  EXPECT_EQ(MetricValue(*client, "rl_decisions_total{outcome=\"allowed\"}"), 0);
  EXPECT_EQ(MetricValue(*client, "rl_events_enqueued_total"), 0);
  // The service still answers well-formed requests afterwards.
  EXPECT_EQ(PostCheck(*client, R"({"user_id":"u"})")->status, 200);
}

TEST_F(LimiterIntegrationTest, HealthReportsRedisAndKafka) {
  auto limiter = StartLimiter();
  auto client = limiter->Client();
  ASSERT_TRUE(Eventually([&] { return Body(client->Get("/health"))["status"] == "ok"; }, 30s));
  json health = Body(client->Get("/health"));
  EXPECT_EQ(health["redis"]["ok"], true);
  EXPECT_EQ(health["kafka"]["ok"], true);
  EXPECT_EQ(health["kafka"]["topic_ready"], true);
  redis_.Kill();
  auto res = client->Get("/health");
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(Body(res)["redis"]["ok"], false);
}

}  // namespace
}  // namespace rl::testing
