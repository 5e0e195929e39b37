// The policy engine through real limiter processes: rules shared by several limiters, hot reload
// under load, tiers and API keys, bans, lists, and the admin endpoints.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support.h"

namespace rl::testing {
namespace {

using nlohmann::json;

class PolicyIntegrationTest : public ::testing::Test {
 protected:
  // Writes the limits file atomically (write, then rename), as an operator's tooling should.
  void WriteLimits(const std::string& yaml) {
    const std::string tmp = limits_ + ".tmp";
    std::ofstream(tmp) << yaml;
    std::filesystem::rename(tmp, limits_);
  }
  std::unique_ptr<ServiceProcess> Limiter(Env extra = {}) {
    extra["LIMITS_FILE"] = limits_;
    if (!extra.count("LIMITS_RELOAD_INTERVAL_MS")) extra["LIMITS_RELOAD_INTERVAL_MS"] = "100";
    return StartLimiter(redis_, SharedKafka().bootstrap(), "rl.policy.test", extra);
  }
  static json Body(const httplib::Result& res) { return json::parse(res->body, nullptr, false); }
  static std::string Version(httplib::Client& client) {
    auto res = client.Get("/config");
    return res ? Body(res).value("version", "") : "";
  }

  RedisServer redis_;
  const std::string limits_ = MakeTempDir("limits") + "/limits.yaml";
};

TEST_F(PolicyIntegrationTest, ThreeLimitersUnderConcurrentLoadNeverAdmitMoreThanARuleAllows) {
  WriteLimits(R"(
rules:
  - {name: per-user, algorithm: fixed_window, limit: 20, window: 1h, scope: user}
  - {name: everyone, algorithm: sliding_window_log, limit: 45, window: 1h, scope: global}
)");
  std::vector<std::unique_ptr<ServiceProcess>> limiters;
  for (int i = 0; i < 3; ++i) limiters.push_back(Limiter());
  std::map<std::string, std::atomic<int>> allowed;
  for (const char* u : {"u1", "u2", "u3"}) allowed[u] = 0;
  std::atomic<int> next{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] {
      auto client = limiters[t % 3]->Client();
      for (int i; (i = next.fetch_add(1)) < 300;) {
        const std::string user = "u" + std::to_string(1 + i % 3);
        auto res = PostCheck(*client, R"({"user_id":")" + user + R"("})");
        if (!res || (res->status != 200 && res->status != 429)) ++errors;
        if (res && res->status == 200) ++allowed[user];
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  int total = 0;
  for (auto& [user, n] : allowed) {
    EXPECT_LE(n.load(), 20) << user;
    total += n.load();
  }
  // The global rule binds first (3 x 20 > 45); blocked requests charge nothing, so exactly 45.
  EXPECT_EQ(total, 45);
}

TEST_F(PolicyIntegrationTest, ReloadingUnderLoadFailsNoRequestAndBadFilesAreRejected) {
  auto file = [](const std::string& version, int limit) {
    return "version: \"" + version + "\"\nrules: [{name: r, limit: " + std::to_string(limit) +
           ", window: 1s, scope: user}]\n";
  };
  WriteLimits(file("v1", 1000000));
  auto limiter = Limiter();
  auto client = limiter->Client();
  ASSERT_EQ(Version(*client), "v1");

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      auto c = limiter->Client();
      while (!stop) {
        auto res = PostCheck(*c, R"({"user_id":"reload-user"})");
        (res && res->status == 200 ? ok : failed)++;
      }
    });
  }
  for (int v = 2; v <= 6; ++v) {
    const std::string version = "v" + std::to_string(v);
    WriteLimits(file(version, 1000000 + v));
    EXPECT_TRUE(Eventually([&] { return Version(*client) == version; }, 10s)) << version;
  }
  WriteLimits("rules: [{name: r, limit: -1, window: 1s}]\n");  // invalid
  EXPECT_TRUE(Eventually(
      [&] { return limiter->process().LogTail().find("rules[0].limit") != std::string::npos; },
      10s))
      << limiter->process().LogTail();
  EXPECT_EQ(Version(*client), "v6");  // the old rules keep working
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(MetricValue(*client, "rl_policy_reloads_total{result=\"applied\"}"), 5);
  EXPECT_GE(MetricValue(*client, "rl_policy_reloads_total{result=\"rejected\"}"), 1);
}

TEST_F(PolicyIntegrationTest, SighupReloadsAtOnce) {
  WriteLimits("version: a\nrules: [{name: r, limit: 5, window: 1s}]\n");
  auto limiter = Limiter({{"LIMITS_RELOAD_INTERVAL_MS", "3600000"}});  // only SIGHUP reloads
  auto client = limiter->Client();
  WriteLimits("version: b\nrules: [{name: r, limit: 5, window: 1s}]\n");
  limiter->process().Signal(SIGHUP);
  EXPECT_TRUE(Eventually([&] { return Version(*client) == "b"; }, 5s));
  EXPECT_TRUE(limiter->process().Running());
}

TEST_F(PolicyIntegrationTest, TiersApiKeysAndListsFromTheExampleFile) {
  std::ifstream example(SourcePath("config/limits.example.yaml"));
  std::stringstream text;
  text << example.rdbuf();
  WriteLimits(text.str());
  redis_.Must({"HSET", "rl:api_keys", "key-carol", "premium:carol"});
  auto limiter = Limiter();
  auto client = limiter->Client();
  auto count_allowed = [&](const std::string& body) {
    int n = 0;
    for (int i = 0; i < 60; ++i) n += PostCheck(*client, body)->status == 200;
    return n;
  };
  EXPECT_EQ(count_allowed(R"({"api_key":"key-alice-premium"})"), 50);
  EXPECT_EQ(count_allowed(R"({"api_key":"key-bob-free"})"), 10);
  EXPECT_EQ(count_allowed(R"({"user_id":"dave"})"), 10);       // no key: the default tier, free
  EXPECT_EQ(count_allowed(R"({"api_key":"key-carol"})"), 50);  // from the Redis hash

  auto res = PostCheck(*client, R"({"api_key":"key-alice-premium"})");
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(Body(res)["rule"], "premium-per-minute");
  EXPECT_EQ(res->get_header_value("RateLimit-Policy"),
            "\"premium-per-minute\";q=50;w=60, \"everyone\";q=100000;w=1");

  auto unknown = PostCheck(*client, R"({"api_key":"key-nobody"})");
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(Body(unknown)["error"]["code"], "unauthenticated");
  auto revoked = PostCheck(*client, R"({"user_id":"x","api_key":"key-revoked"})");
  EXPECT_EQ(revoked->status, 401);  // not in the file nor the hash: unknown before denied
  redis_.Must({"HSET", "rl:api_keys", "key-revoked", "free:eve"});
  revoked = PostCheck(*client, R"({"api_key":"key-revoked"})");
  EXPECT_EQ(revoked->status, 403);
  EXPECT_EQ(Body(revoked)["outcome"], "denied");
  for (int i = 0; i < 20; ++i) {
    auto hc = PostCheck(*client, R"({"user_id":"healthcheck"})");
    ASSERT_EQ(hc->status, 200);
    EXPECT_EQ(Body(hc)["outcome"], "allowlisted");
  }
  json config = Body(client->Get("/config"));
  EXPECT_EQ(config["version"], "example-1");
  EXPECT_EQ(config["api_keys"], 2);  // counted, never listed
  EXPECT_EQ(config["tiers"]["premium"], (json{"premium-per-minute", "login", "everyone"}));
  EXPECT_EQ(config["rules"][1]["algorithm"], "sliding_window_counter");
}

TEST_F(PolicyIntegrationTest, RepeatedBlocksBanTheUserUntilTheBanEnds) {
  WriteLimits(R"(
ban_status: 403
rules:
  - name: login
    algorithm: fixed_window
    limit: 1
    window: 1h
    scope: user
    penalty: {blocks: 2, within: 60s, ban: 2s}
)");
  auto limiter = Limiter();
  auto client = limiter->Client();
  const std::string body = R"({"user_id":"mallory","action":"login"})";
  EXPECT_EQ(PostCheck(*client, body)->status, 200);
  EXPECT_EQ(PostCheck(*client, body)->status, 429);
  auto second_block = PostCheck(*client, body);
  EXPECT_EQ(second_block->status, 429);
  // The block that starts the ban: retry when both the window and the ban allow it.
  EXPECT_GT(std::stoi(second_block->get_header_value("Retry-After")), 2);
  auto banned = PostCheck(*client, body);
  EXPECT_EQ(banned->status, 403);
  EXPECT_EQ(Body(banned)["outcome"], "banned");
  EXPECT_EQ(banned->get_header_value("Retry-After"), "2");  // while banned: the end of the ban
  // After the ban the hour-long window still blocks, but as a plain 429 again.
  EXPECT_TRUE(Eventually([&] { return PostCheck(*client, body)->status == 429; }, 5s));
  EXPECT_GE(MetricValue(*client, "rl_decisions_total{outcome=\"banned\"}"), 1);
}

TEST_F(PolicyIntegrationTest, AdminEndpointsInspectAndResetAUsersLimits) {
  WriteLimits("rules: [{name: r, algorithm: fixed_window, limit: 1, window: 1h}]\n");
  auto limiter = Limiter({{"ADMIN_TOKEN", "s3cret-token"}});
  auto client = limiter->Client();
  EXPECT_EQ(PostCheck(*client, R"({"user_id":"frank","action":"upload"})")->status, 200);
  EXPECT_EQ(PostCheck(*client, R"({"user_id":"frank","action":"upload"})")->status, 429);

  EXPECT_EQ(client->Get("/limits/frank?action=upload")->status, 401);
  EXPECT_EQ(client->Get("/limits/frank?action=upload", {{"Authorization", "Bearer wrong"}})->status,
            401);
  const httplib::Headers admin = {{"Authorization", "Bearer s3cret-token"}};
  auto inspect = client->Get("/limits/frank?action=upload", admin);
  ASSERT_EQ(inspect->status, 200) << inspect->body;
  json state = Body(inspect);
  EXPECT_EQ(state["rules"][0]["rule"], "r");
  EXPECT_EQ(state["rules"][0]["state"]["type"], "hash");
  EXPECT_EQ(state["rules"][0]["state"]["fields"]["c"], "1");

  auto reset = client->Delete("/limits/frank?action=upload", admin);
  ASSERT_EQ(reset->status, 200);
  EXPECT_GE(Body(reset)["deleted_keys"].get<int>(), 1);
  EXPECT_EQ(PostCheck(*client, R"({"user_id":"frank","action":"upload"})")->status, 200);
  EXPECT_EQ(limiter->process().LogTail().find("s3cret-token"), std::string::npos);

  auto no_token = Limiter();
  EXPECT_EQ(no_token->Client()->Get("/limits/frank", admin)->status, 403);
}

TEST_F(PolicyIntegrationTest, AnInvalidLimitsFileStopsTheStartNamingTheError) {
  WriteLimits("rules: [{name: r, limit: 1, window: forever}]\n");
  ChildProcess limiter({BinaryPath("limiter")},
                       {{"LIMITS_FILE", limits_}, {"REDIS_URL", redis_.url()}},
                       MakeTempDir("badlimits") + "/limiter.log");
  EXPECT_EQ(limiter.WaitExit(10s), 2);
  EXPECT_NE(limiter.LogTail().find("rules[0].window"), std::string::npos) << limiter.LogTail();
}

}  // namespace
}  // namespace rl::testing
