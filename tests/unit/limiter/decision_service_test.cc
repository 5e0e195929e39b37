#include "limiter/core/decision_service.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <map>

#include "limiter/front/decision_events.h"
#include "limiter/front/limiter_routes.h"
#include "tests/support/recording_event_publisher.h"
#include "tests/support/memory_decision_store.h"

namespace rl::limiter {
namespace {

using events::v1::Decision;

std::map<std::string, std::string> HeaderMap(const CheckResult& r) {
  std::map<std::string, std::string> h;
  for (auto& [name, value] : RateLimitHeaders(r)) h[name] = value;
  return h;
}

// How an API key appears wherever a user id is shown: "key:" and the first 8 hex digits of its
// SHA-256 (computed here independently of the code under test).
std::string KeyLabel(const std::string& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
  return std::string("key:") + hex;
}

std::shared_ptr<const ActivePolicy> Active(Policy p) {
  auto a = std::make_shared<ActivePolicy>();
  a->policy = std::move(p);
  a->hash = "test";
  return a;
}

Policy Yaml(const std::string& text) {
  auto p = ParsePolicyYaml(text, "test.yaml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? p.value() : Policy{};
}

class DecisionServiceTest : public ::testing::Test {
 protected:
  void Use(Policy p, FailMode mode = FailMode::kOpen) {
    holder_.Replace(Active(std::move(p)));
    ServiceOptions options;
    options.fail_mode = mode;
    options.fail_closed_retry_after_ms = 2500;
    options.limiter_id = "lim-a";
    service_ =
        std::make_unique<DecisionService>(store_, store_, events_, clock_, metrics_, holder_, options);
  }
  CheckResult Check(const std::string& user, const std::string& action = "default",
                    int64_t cost = 1, const std::string& api_key = "") {
    return service_->Check({.user_id = user, .action = action, .cost = cost, .api_key = api_key});
  }
  // The HTTP status the /check front end gives this result under the active policy.
  int Status(const CheckResult& r) {
    return HttpStatusOf(r.verdict, holder_.Current()->policy.ban_status);
  }
  uint64_t Counted(const std::string& outcome) {
    return metrics_.AddCounter("rl_decisions_total", "", {{"outcome", outcome}}).Value();
  }

  common::ManualClock clock_;
  MemoryDecisionStore store_{clock_};
  common::RecordingEventPublisher publisher_;
  PublishedDecisionEvents events_{publisher_};
  common::MetricsRegistry metrics_;
  PolicyHolder holder_{Active(DefaultPolicy(3, 1.0))};
  std::unique_ptr<DecisionService> service_;
};

TEST_F(DecisionServiceTest, DefaultPolicyAllowsUntilTheBucketIsEmptyThenBlocks) {
  Use(DefaultPolicy(3, 1.0));
  for (int i = 0; i < 3; ++i) {
    CheckResult r = Check("u1");
    EXPECT_EQ(r.verdict, Verdict::kAllowed);
    EXPECT_EQ(Status(r), 200);
    EXPECT_EQ(r.remaining, 2 - i);
    EXPECT_EQ(r.rule, "default");
  }
  CheckResult blocked = Check("u1");
  EXPECT_EQ(blocked.verdict, Verdict::kBlocked);
  EXPECT_EQ(Status(blocked), 429);
  EXPECT_EQ(blocked.retry_after_ms, 1000);
  EXPECT_EQ(Counted("allowed"), 3u);
  EXPECT_EQ(Counted("blocked"), 1u);
}

TEST_F(DecisionServiceTest, DefaultPolicyKeepsOneBucketPerUserAndAction) {
  Use(DefaultPolicy(3, 1.0));
  Check("u1", "login", 3);
  EXPECT_TRUE(Check("u1", "search").allowed());
  EXPECT_TRUE(Check("u2", "login").allowed());
  EXPECT_FALSE(Check("u1", "login").allowed());
  EXPECT_EQ(store_.KeyCount(), 3u);
}

TEST_F(DecisionServiceTest, PublishesOneEventPerDecisionWithItsFields) {
  Use(DefaultPolicy(3, 1.0));
  clock_.AdvanceMs(42);
  Check("u1", "login", 2);
  Check("u1", "login", 2);
  auto events = publisher_.events();
  ASSERT_EQ(events.size(), 2u);
  const Decision& first = events[0];
  EXPECT_EQ(first.event_id(), "lim-a-1");
  EXPECT_EQ(first.user_id(), "u1");
  EXPECT_EQ(first.action(), "login");
  EXPECT_EQ(first.rule(), "default");
  EXPECT_EQ(first.outcome(), events::v1::OUTCOME_ALLOWED);
  EXPECT_EQ(first.limit(), 3);
  EXPECT_EQ(first.remaining(), 1);
  EXPECT_EQ(first.cost(), 2);
  EXPECT_EQ(first.limiter_id(), "lim-a");
  EXPECT_EQ(first.ts_ms(), clock_.NowMs());
  EXPECT_EQ(events[1].event_id(), "lim-a-2");
  EXPECT_EQ(events[1].outcome(), events::v1::OUTCOME_BLOCKED);
  // The sequence is a field of its own (the workers no longer parse it out of event_id).
  EXPECT_EQ(first.sequence(), 1u);
  EXPECT_EQ(events[1].sequence(), 2u);
}

TEST_F(DecisionServiceTest, FailOpenAllowsAndCountsWhenTheStoreIsDown) {
  Use(DefaultPolicy(3, 1.0), FailMode::kOpen);
  store_.Fail(common::Status::Timeout("slow"));
  CheckResult r = Check("u1");
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.verdict, Verdict::kFailOpen);
  EXPECT_EQ(Status(r), 200);
  EXPECT_FALSE(r.HasLimitState());
  EXPECT_EQ(Counted("fail_open"), 1u);
  EXPECT_EQ(metrics_.AddCounter("rl_redis_errors_total", "", {{"kind", "timeout"}}).Value(), 1u);
  EXPECT_EQ(publisher_.events().back().outcome(), events::v1::OUTCOME_FAIL_OPEN);
}

TEST_F(DecisionServiceTest, FailClosedAnswers503WithRetryAfterAndRecovers) {
  Use(DefaultPolicy(3, 1.0), FailMode::kClosed);
  store_.Fail(common::Status::Unavailable("connection refused"));
  CheckResult r = Check("u1");
  EXPECT_EQ(r.verdict, Verdict::kFailClosed);
  EXPECT_EQ(Status(r), 503);
  EXPECT_EQ(r.retry_after_ms, 2500);
  store_.Recover();
  EXPECT_EQ(Check("u1").verdict, Verdict::kAllowed);
}

constexpr char kTwoRules[] = R"(
rules:
  - {name: per-user, algorithm: fixed_window, limit: 3, window: 60s, scope: user}
  - {name: logins, algorithm: fixed_window, limit: 2, window: 60s, match: {actions: [login]}}
)";

TEST_F(DecisionServiceTest, SeveralRulesAreAllOrNothing) {
  Use(Yaml(kTwoRules));
  EXPECT_TRUE(Check("u1", "login").allowed());
  EXPECT_TRUE(Check("u1", "login").allowed());
  CheckResult blocked = Check("u1", "login");
  EXPECT_FALSE(blocked.allowed());
  EXPECT_EQ(blocked.rule, "logins");
  // The blocked login charged neither rule, so the per-user rule still has one request left.
  EXPECT_TRUE(Check("u1", "search").allowed());
  EXPECT_EQ(Check("u1", "search").rule, "per-user");
}

TEST_F(DecisionServiceTest, ReportsTheRuleClosestToItsLimitAndListsEveryRule) {
  Use(Yaml(kTwoRules));
  CheckResult r = Check("u1", "login");
  ASSERT_EQ(r.policies.size(), 2u);
  EXPECT_EQ(r.policies[0].name, "per-user");
  EXPECT_EQ(r.policies[0].quota, 3);
  EXPECT_EQ(r.policies[0].window_s, 60);
  EXPECT_EQ(r.rule, "logins");  // 1 of 2 left beats 2 of 3
  EXPECT_EQ(r.remaining, 1);
  EXPECT_EQ(r.limit, 2);
}

TEST_F(DecisionServiceTest, ShadowRuleAllowsAWouldBeBlockAndSaysSo) {
  Use(Yaml(R"(
rules:
  - {name: trial, limit: 1, window: 60s, shadow: true}
)"));
  EXPECT_EQ(Check("u1").verdict, Verdict::kAllowed);
  CheckResult r = Check("u1");
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(Status(r), 200);
  EXPECT_EQ(r.verdict, Verdict::kShadowBlocked);
  EXPECT_EQ(r.rule, "trial");
  EXPECT_EQ(Counted("shadow_blocked"), 1u);
  EXPECT_EQ(publisher_.events().back().outcome(), events::v1::OUTCOME_SHADOW_BLOCKED);
}

// A shadow rule at 0 remaining once became the named rule of the headers (RateLimit: "sh";r=0,
// X-RateLimit-Remaining: 0), and RateLimit-Policy listed it: clients backed off for a rule that
// is not enforced. The headers speak for enforced rules only; the event still names the shadow
// rule.
TEST_F(DecisionServiceTest, ShadowRulesNeverAppearInClientHeaders) {
  Use(Yaml(R"(
rules:
  - {name: sh, limit: 1, window: 60s, shadow: true}
  - {name: real, limit: 10, window: 60s}
)"));
  Check("u1");
  CheckResult r = Check("u1");
  ASSERT_EQ(r.verdict, Verdict::kShadowBlocked);
  auto h = HeaderMap(r);
  EXPECT_EQ(h["RateLimit-Policy"], "\"real\";q=10;w=60");
  EXPECT_EQ(h["RateLimit"].rfind("\"real\";r=8;", 0), 0u) << h["RateLimit"];
  EXPECT_EQ(h["X-RateLimit-Limit"], "10");
  EXPECT_EQ(h["X-RateLimit-Remaining"], "8");
  EXPECT_EQ(publisher_.events().back().rule(), "sh");
}

TEST_F(DecisionServiceTest, AnswersWithOnlyShadowRulesCarryNoLimitHeaders) {
  Use(Yaml(R"(
rules:
  - {name: sh, limit: 1, window: 60s, shadow: true}
)"));
  Check("u1");
  auto h = HeaderMap(Check("u1"));
  EXPECT_EQ(h.count("RateLimit"), 0u);
  EXPECT_EQ(h.count("RateLimit-Policy"), 0u);
  EXPECT_EQ(h.count("X-RateLimit-Remaining"), 0u);
}

TEST_F(DecisionServiceTest, GlobalShadowModeNeverBlocks) {
  Use(Yaml(R"(
shadow_mode: true
rules:
  - {name: a, limit: 1, window: 60s}
)"));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Check("u1").allowed());
  EXPECT_EQ(Counted("shadow_blocked"), 4u);
}

constexpr char kPenalty[] = R"(
ban_status: 429
rules:
  - name: login
    algorithm: fixed_window
    limit: 1
    window: 10s
    penalty: {blocks: 2, within: 60s, ban: 30s}
)";

TEST_F(DecisionServiceTest, PenaltyBansAfterRepeatedBlocksUntilTheBanEnds) {
  Use(Yaml(kPenalty));
  EXPECT_TRUE(Check("u1").allowed());
  EXPECT_EQ(Check("u1").verdict, Verdict::kBlocked);
  CheckResult second_block = Check("u1");  // the second block within 60 s starts the ban
  EXPECT_EQ(second_block.verdict, Verdict::kBlocked);
  EXPECT_EQ(second_block.retry_after_ms, 30000);
  clock_.AdvanceMs(15000);  // the window has reset, but the ban holds
  CheckResult banned = Check("u1");
  EXPECT_EQ(banned.verdict, Verdict::kBanned);
  EXPECT_EQ(Status(banned), 429);
  EXPECT_EQ(banned.retry_after_ms, 15000);
  EXPECT_TRUE(Check("u2").allowed());  // bans are per key
  clock_.AdvanceMs(15001);
  EXPECT_TRUE(Check("u1").allowed());
}

TEST_F(DecisionServiceTest, BanStatusCanBe403) {
  std::string text = kPenalty;
  text.replace(text.find("ban_status: 429"), 15, "ban_status: 403");
  Use(Yaml(text));
  Check("u1");
  Check("u1");
  Check("u1");
  EXPECT_EQ(Status(Check("u1")), 403);
}

constexpr char kTiers[] = R"(
rules:
  - {name: free-minute, algorithm: sliding_window_log, limit: 2, window: 1m, scope: user}
  - {name: premium-minute, algorithm: sliding_window_log, limit: 5, window: 1m, scope: user}
tiers:
  free: [free-minute]
  premium: [premium-minute]
default_tier: free
api_keys:
  key-alice: {user: alice, tier: premium}
api_keys_redis_hash: rl:api_keys
allow: {users: [ops]}
deny: {users: [mallory], api_keys: [key-leaked]}
)";

TEST_F(DecisionServiceTest, TiersGiveEachUserTheirRules) {
  Use(Yaml(kTiers));
  int free = 0, premium = 0;
  for (int i = 0; i < 8; ++i) free += Check("bob").allowed();
  for (int i = 0; i < 8; ++i) premium += Check("", "default", 1, "key-alice").allowed();
  EXPECT_EQ(free, 2);
  EXPECT_EQ(premium, 5);
  EXPECT_EQ(publisher_.events().back().user_id(), "alice");  // the key's user
}

TEST_F(DecisionServiceTest, ApiKeysComeFromTheFileOrTheRedisHashAndUnknownOnesGet401) {
  Use(Yaml(kTiers));
  store_.SetApiKey("rl:api_keys", "key-carol", "premium:carol");
  CheckResult carol = Check("", "default", 1, "key-carol");
  EXPECT_TRUE(carol.allowed());
  EXPECT_EQ(carol.rule, "premium-minute");
  CheckResult unknown = Check("", "default", 1, "key-nobody");
  EXPECT_EQ(Status(unknown), 401);
  EXPECT_EQ(unknown.verdict, Verdict::kUnauthenticated);
}

// API-key lookups that take longer than the request's deadline: the rule checks after them are
// never started, and every check of the request gets the fail mode as a timeout, under its id.
TEST_F(DecisionServiceTest, NoStoreStepStartsAfterTheRequestsDeadline) {
  struct SlowApiKeys final : ApiKeyStore {
    SlowApiKeys(ApiKeyStore& inner, common::ManualClock& clock) : inner(inner), clock(clock) {}
    std::vector<common::Result<std::optional<std::string>>> LookupApiKeys(
        const std::string& hash, const std::vector<std::string>& keys) override {
      clock.AdvanceMs(delay_ms);
      return inner.LookupApiKeys(hash, keys);
    }
    ApiKeyStore& inner;
    common::ManualClock& clock;
    int64_t delay_ms = 0;
  } slow(store_, clock_);
  holder_.Replace(Active(Yaml(kTiers)));
  ServiceOptions options;
  options.request_deadline_ms = 50;
  DecisionService service(store_, slow, events_, clock_, metrics_, holder_, options);
  store_.SetApiKey("rl:api_keys", "key-carol", "premium:carol");
  const std::vector<CheckRequest> batch = {{.action = "default", .api_key = "key-carol"},
                                           {.user_id = "bob"}};

  slow.delay_ms = 49;  // within the deadline: decided
  Decisions in_time = service.Decide(service.NewContext("req-in-time"), batch);
  EXPECT_EQ(in_time.results[0].verdict, Verdict::kAllowed);
  EXPECT_EQ(in_time.results[1].verdict, Verdict::kAllowed);

  slow.delay_ms = 50;  // the deadline passes during the lookups
  Decisions late = service.Decide(service.NewContext("req-late"), batch);
  EXPECT_EQ(late.results[0].verdict, Verdict::kFailOpen);
  EXPECT_EQ(late.results[1].verdict, Verdict::kFailOpen);
  EXPECT_EQ(metrics_.AddCounter("rl_redis_errors_total", "", {{"kind", "timeout"}}).Value(), 2u);
  ASSERT_EQ(publisher_.events().size(), 4u);
  EXPECT_EQ(publisher_.events()[0].request_id(), "req-in-time");
  EXPECT_EQ(publisher_.events()[3].request_id(), "req-late");
  // bob's second check never reached the store: one more of his two a minute is left.
  slow.delay_ms = 0;
  EXPECT_TRUE(service.Check({.user_id = "bob"}).allowed());
  EXPECT_FALSE(service.Check({.user_id = "bob"}).allowed());
}

// A batch's API keys were looked up one HGET after another; now they are one pipelined step.
TEST_F(DecisionServiceTest, TheApiKeysOfABatchAreLookedUpInOneRoundTrip) {
  Use(Yaml(kTiers));
  store_.SetApiKey("rl:api_keys", "key-carol", "premium:carol");
  store_.SetApiKey("rl:api_keys", "key-dave", "free:dave");
  std::vector<CheckRequest> batch;
  for (const char* key : {"key-carol", "key-dave", "key-nobody", "key-alice"}) {
    batch.push_back({.action = "default", .cost = 1, .api_key = key});
  }
  std::vector<CheckResult> results = service_->CheckBatch(batch);
  EXPECT_EQ(store_.lookup_round_trips(), 1);  // key-alice is in the file: no lookup
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].rule, "premium-minute");
  EXPECT_EQ(results[1].rule, "free-minute");
  EXPECT_EQ(results[2].verdict, Verdict::kUnauthenticated);
  EXPECT_EQ(results[3].rule, "premium-minute");
}

TEST_F(DecisionServiceTest, AnApiKeyLookupThatFailsIsAFailModeAnswerWithAPublishableEvent) {
  Use(Yaml(kTiers), FailMode::kOpen);
  store_.Fail(common::Status::Unavailable("down"));
  CheckResult r = Check("", "default", 1, "key-from-redis");
  EXPECT_EQ(r.verdict, Verdict::kFailOpen);
  ASSERT_FALSE(publisher_.events().empty());
  EXPECT_EQ(publisher_.events().back().user_id(), KeyLabel("key-from-redis"));  // never the key
}

TEST_F(DecisionServiceTest, UnresolvedApiKeysAreRecordedUnderAFingerprintNeverTheKey) {
  Use(Yaml(kTiers), FailMode::kClosed);
  store_.Fail(common::Status::Timeout("paused"));
  const std::string secret = "sk-live-0123456789abcdef";
  CheckResult r = Check("", "default", 1, secret);
  EXPECT_EQ(r.verdict, Verdict::kFailClosed);
  ASSERT_EQ(publisher_.events().size(), 1u);
  const Decision event = publisher_.events().back();
  EXPECT_EQ(event.user_id(), KeyLabel(secret));
  EXPECT_EQ(event.user_id().size(), 12u);  // "key:" and 8 hex digits
  EXPECT_EQ(event.SerializeAsString().find(secret), std::string::npos);
}

TEST_F(DecisionServiceTest, DenyAndAllowListedKeysNeedNotBeKnownKeys) {
  Use(Yaml(kTiers));
  CheckResult leaked = Check("", "default", 1, "key-leaked");  // in deny.api_keys only
  EXPECT_EQ(leaked.verdict, Verdict::kDenied);
  EXPECT_EQ(Status(leaked), 403);
  ASSERT_EQ(publisher_.events().size(), 1u);
  EXPECT_EQ(publisher_.events().back().user_id(), KeyLabel("key-leaked"));
}

TEST_F(DecisionServiceTest, ApiKeyEntriesOfTheRedisHashWithAnInvalidUserAreUnknownKeys) {
  Use(Yaml(kTiers));
  store_.SetApiKey("rl:api_keys", "key-empty", "premium:");
  store_.SetApiKey("rl:api_keys", "key-tab", "premium:ev\til");
  store_.SetApiKey("rl:api_keys", "key-no-tier", "carol");
  for (const char* key : {"key-empty", "key-tab", "key-no-tier"}) {
    CheckResult r = Check("", "default", 1, key);
    EXPECT_EQ(Status(r), 401) << key;
    EXPECT_EQ(r.verdict, Verdict::kUnauthenticated) << key;
  }
  EXPECT_EQ(store_.decisions(), 0);
}

TEST_F(DecisionServiceTest, HeadersStateTheConfiguredQuotaAndWindowWithTheBurstBeside) {
  Use(Yaml("rules: [{name: login, algorithm: gcra, limit: 5, window: 1m, burst: 3}]"));
  CheckResult r = Check("u1");
  ASSERT_TRUE(r.allowed());
  EXPECT_EQ(r.limit, 5);
  EXPECT_EQ(r.remaining, 2);
  std::map<std::string, std::string> h = HeaderMap(r);
  EXPECT_EQ(h["RateLimit-Policy"], "\"login\";q=5;w=60;burst=3");
  EXPECT_EQ(h["X-RateLimit-Limit"], "5");
  EXPECT_EQ(h["X-RateLimit-Remaining"], "2");
}

TEST_F(DecisionServiceTest, ABannedAnswerSaysTheLimitResetsWhenTheBanEnds) {
  Use(Yaml(kPenalty));
  Check("u1");
  Check("u1");
  Check("u1");  // the ban starts: 30 s
  clock_.AdvanceMs(1000);
  CheckResult banned = Check("u1");
  ASSERT_EQ(banned.verdict, Verdict::kBanned);
  EXPECT_EQ(banned.retry_after_ms, 29000);
  EXPECT_EQ(banned.reset_ms, 29000);
  std::map<std::string, std::string> h = HeaderMap(banned);
  EXPECT_EQ(h["X-RateLimit-Reset"], "29");
  EXPECT_EQ(h["RateLimit"], "\"login\";r=0;t=29");
  EXPECT_EQ(h["Retry-After"], "29");
}

TEST_F(DecisionServiceTest, ARetryAfterABanIsAdmittedEvenWhenTheRuleOutlastsTheBan) {
  Use(Yaml(R"(
rules:
  - name: hourly
    algorithm: fixed_window
    limit: 1
    window: 1h
    penalty: {blocks: 2, within: 60s, ban: 30s}
)"));
  clock_.AdvanceMs(3'600'000 - clock_.NowMs() % 3'600'000);  // the start of an hour
  Check("u1");
  Check("u1");
  Check("u1");  // banned for 30 s; the hour's quota lasts another 3,600 s
  CheckResult banned = Check("u1");
  ASSERT_EQ(banned.verdict, Verdict::kBanned);
  EXPECT_EQ(banned.retry_after_ms, 3'600'000);
  clock_.AdvanceMs(banned.retry_after_ms);
  EXPECT_TRUE(Check("u1").allowed());
}

TEST_F(DecisionServiceTest, ABatchDecidesEachCheckOnItsOwnInOrder) {
  Use(Yaml(kTiers));
  const int before = store_.decisions();
  std::vector<CheckResult> results = service_->CheckBatch({
      {.user_id = "bob", .action = "default", .cost = 1, .api_key = ""},
      {.user_id = "bob", .action = "default", .cost = 1, .api_key = ""},
      {.user_id = "bob", .action = "default", .cost = 1, .api_key = ""},  // free: 2 a minute
      {.user_id = "mallory", .action = "default", .cost = 1, .api_key = ""},
      {.user_id = "", .action = "default", .cost = 1, .api_key = "key-nobody"},
      {.user_id = "bob", .action = "default", .cost = 5, .api_key = ""},
      {.user_id = "ops", .action = "default", .cost = 1, .api_key = ""},
  });
  ASSERT_EQ(results.size(), 7u);
  EXPECT_EQ(results[0].verdict, Verdict::kAllowed);
  EXPECT_EQ(results[0].remaining, 1);
  EXPECT_EQ(results[1].verdict, Verdict::kAllowed);
  EXPECT_EQ(results[2].verdict, Verdict::kBlocked);
  EXPECT_EQ(results[3].verdict, Verdict::kDenied);
  EXPECT_EQ(results[4].verdict, Verdict::kUnauthenticated);
  EXPECT_EQ(results[5].verdict, Verdict::kInvalid);
  EXPECT_EQ(results[6].verdict, Verdict::kAllowlisted);
  EXPECT_EQ(store_.decisions() - before, 3);  // only the rule checks reached the store
  EXPECT_EQ(publisher_.events().size(), 5u);  // one event per decision, none for refusals
  EXPECT_EQ(Counted("blocked"), 1u);
}

TEST_F(DecisionServiceTest, ABatchThatTheStoreCannotDecideGetsTheFailModeForEachCheck) {
  Use(DefaultPolicy(3, 1.0), FailMode::kClosed);
  store_.Fail(common::Status::Timeout("paused"));
  auto results = service_->CheckBatch({{.user_id = "a", .action = "x", .cost = 1, .api_key = ""},
                                       {.user_id = "b", .action = "x", .cost = 1, .api_key = ""}});
  for (const auto& r : results) EXPECT_EQ(r.verdict, Verdict::kFailClosed);
  EXPECT_EQ(Counted("fail_closed"), 2u);
}

TEST_F(DecisionServiceTest, AnswersWithoutALimitSayUnlimitedRatherThanZeroLeft) {
  Use(Yaml(kTiers));
  nlohmann::json listed = CheckResultJson(Check("ops"));
  EXPECT_EQ(listed["unlimited"], true);
  EXPECT_FALSE(listed.contains("remaining"));
  Use(Yaml("rules: [{name: logins, limit: 1, window: 1s, match: {actions: [login]}}]"));
  nlohmann::json unmatched = CheckResultJson(Check("u1", "search"));
  EXPECT_EQ(unmatched["unlimited"], true);
  EXPECT_FALSE(unmatched.contains("limit"));
  nlohmann::json limited = CheckResultJson(Check("u1", "login"));
  EXPECT_FALSE(limited.contains("unlimited"));
  EXPECT_EQ(limited["limit"], 1);
}

TEST_F(DecisionServiceTest, AllowAndDenyListsSkipTheRules) {
  Use(Yaml(kTiers));
  const int before = store_.decisions();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Check("ops").verdict, Verdict::kAllowlisted);
  CheckResult denied = Check("mallory");
  EXPECT_EQ(denied.verdict, Verdict::kDenied);
  EXPECT_EQ(Status(denied), 403);
  store_.SetApiKey("rl:api_keys", "key-leaked", "free:dave");
  EXPECT_EQ(Status(Check("", "default", 1, "key-leaked")), 403);
  EXPECT_EQ(store_.decisions(), before);  // no rule was evaluated
}

TEST_F(DecisionServiceTest, ACostAboveTheCapacityOfAnApplyingRuleIsAClientError) {
  Use(Yaml(kTwoRules));
  CheckResult r = Check("u1", "login", 3);  // per-user allows 3, logins only 2
  EXPECT_EQ(Status(r), 400);
  EXPECT_NE(r.error_message.find("rule logins"), std::string::npos) << r.error_message;
  EXPECT_TRUE(Check("u1", "search", 3).allowed());  // the login rule does not apply to searches
  EXPECT_EQ(store_.decisions(), 1);
}

// The reference format's `requests_per_unit: 0` blocks every request of its descriptor: each is a
// decision (blocked, published), never a client error, and no Retry-After promises a retry that
// will be refused again.
TEST_F(DecisionServiceTest, AZeroLimitBlocksEveryRequestAsADecisionWithoutRetryAfter) {
  Use(
      Yaml("domain: edge\ndescriptors:\n  - key: block\n    rate_limit: {unit: second, "
           "requests_per_unit: 0}\n"));
  DescriptorRequest request;
  request.check.user_id = "u0";
  request.check.action = "edge";
  request.domain = "edge";
  request.entries = {{"block", "x"}};
  for (int i = 0; i < 2; ++i) {
    CheckResult r = service_->DecideDescriptors({}, holder_.Current(), {request}).results.front();
    EXPECT_EQ(r.verdict, Verdict::kBlocked) << r.error_message;
    EXPECT_FALSE(r.allowed());
    EXPECT_EQ(r.limit, 0);
    EXPECT_EQ(r.remaining, 0);
    EXPECT_EQ(r.retry_after_ms, 0);
    EXPECT_EQ(HeaderMap(r).count("Retry-After"), 0u);
  }
  ASSERT_EQ(publisher_.events().size(), 2u);
  EXPECT_EQ(publisher_.events()[0].outcome(), events::v1::OUTCOME_BLOCKED);
}

TEST_F(DecisionServiceTest, AReplacedPolicyAppliesFromTheNextRequest) {
  Use(DefaultPolicy(1, 0.001));
  EXPECT_TRUE(Check("u1").allowed());
  EXPECT_FALSE(Check("u1").allowed());
  holder_.Replace(Active(Yaml("rules: [{name: roomy, limit: 100, window: 1s}]")));
  CheckResult r = Check("u1");
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.rule, "roomy");
}

}  // namespace
}  // namespace rl::limiter
