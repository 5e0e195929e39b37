#include "limiter/core/policy.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "limiter/core/api_key_resolver.h"

namespace rl::limiter {
namespace {

using common::Status;

TEST(ParsePolicyYaml, ReadsTheExampleFileShippedInConfig) {
  std::ifstream in(std::string(RL_SOURCE_DIR) + "/config/limits.example.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto p = ParsePolicyYaml(text.str(), "limits.example.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->default_tier, "free");
  EXPECT_TRUE(p->tiers.count("premium"));
  EXPECT_FALSE(p->api_keys.empty());
}

TEST(ParsePolicyYaml, ReadsEveryRuleSetting) {
  auto p = ParsePolicyYaml(R"(
version: "2026-11-22.1"
rules:
  - name: login
    algorithm: gcra
    limit: 5
    window: 1m
    burst: 2
    scope: user
    match: {actions: [login, "auth:refresh"]}
    shadow: true
    penalty: {blocks: 5, within: 60s, ban: 1h}
)",
                           "t.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const Rule& r = p->rules.at(0);
  EXPECT_EQ(p->version, "2026-11-22.1");
  EXPECT_EQ(r.limit.algorithm, Algorithm::kGcra);
  EXPECT_EQ(r.limit.limit, 5);
  EXPECT_EQ(r.limit.window_ms, 60000);
  EXPECT_EQ(r.limit.burst, 2);
  EXPECT_EQ(r.scope, Scope::kUser);
  EXPECT_TRUE(r.Matches("auth:refresh"));
  EXPECT_FALSE(r.Matches("search"));
  EXPECT_TRUE(r.shadow);
  EXPECT_EQ(r.penalty.blocks, 5);
  EXPECT_EQ(r.penalty.ban_ms, 3600000);
  EXPECT_EQ(p->default_tier, "default");  // no tiers: every rule in one tier
}

struct BadFile {
  const char* name;
  std::string yaml;
  const char* error;
};
void PrintTo(const BadFile& b, std::ostream* os) { *os << b.name; }

class ParsePolicyYamlRejects : public ::testing::TestWithParam<BadFile> {};

TEST_P(ParsePolicyYamlRejects, WithAnErrorNamingThePlace) {
  auto p = ParsePolicyYaml(GetParam().yaml, "t.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find(GetParam().error), std::string::npos) << p.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    BadFiles, ParsePolicyYamlRejects,
    ::testing::Values(
        BadFile{"not_yaml", "rules: [", "not valid YAML"},
        BadFile{"not_a_mapping", "- a\n- b", "must be a YAML mapping"},
        BadFile{"no_rules", "version: 1", "rules: must be a non-empty list"},
        BadFile{"unknown_top_level", "rulez: []\nrules: [{name: a, limit: 1, window: 1s}]",
                "rulez: unknown setting"},
        BadFile{"missing_limit", "rules: [{name: a, window: 1s}]", "rules[0].limit: is required"},
        BadFile{"zero_limit", "rules: [{name: a, limit: 0, window: 1s}]",
                "rules[0].limit: \"0\" is not an integer from 1 to 1000000000"},
        BadFile{"text_limit", "rules: [{name: a, limit: lots, window: 1s}]",
                "rules[0].limit: \"lots\" is not an integer"},
        BadFile{"bad_window", "rules: [{name: a, limit: 1, window: soon}]",
                "rules[0].window: \"soon\" is not a duration"},
        BadFile{"bad_algorithm", "rules: [{name: a, algorithm: magic, limit: 1, window: 1s}]",
                "rules[0].algorithm: \"magic\" is not one of token_bucket"},
        BadFile{"bad_scope", "rules: [{name: a, limit: 1, window: 1s, scope: planet}]",
                "rules[0].scope"},
        BadFile{"colon_in_name", "rules: [{name: 'a:b', limit: 1, window: 1s}]", "rules[0].name"},
        BadFile{"duplicate_rule",
                "rules: [{name: a, limit: 1, window: 1s}, {name: a, limit: 2, window: 1s}]",
                "rules[1].name: \"a\" is defined twice"},
        BadFile{"unknown_rule_setting", "rules: [{name: a, limit: 1, window: 1s, colour: red}]",
                "rules[0].colour: unknown setting"},
        BadFile{"tier_unknown_rule", "rules: [{name: a, limit: 1, window: 1s}]\ntiers: {free: [b]}",
                "tiers.free: unknown rule \"b\""},
        BadFile{"default_tier_unknown",
                "rules: [{name: a, limit: 1, window: 1s}]\ntiers: {free: [a]}\ndefault_tier: gold",
                "default_tier: unknown tier"},
        BadFile{"key_unknown_tier",
                "rules: [{name: a, limit: 1, window: 1s}]\napi_keys: {k1: {user: u, tier: gold}}",
                "api_keys.k1.tier: unknown tier"},
        BadFile{"key_without_user",
                "rules: [{name: a, limit: 1, window: 1s}]\napi_keys: {k1: {tier: default}}",
                "api_keys.k1.user: is required"},
        BadFile{"penalty_incomplete",
                "rules: [{name: a, limit: 1, window: 1s, penalty: {blocks: 3}}]",
                "rules[0].penalty.within: is required"},
        BadFile{"bad_ban_status", "ban_status: 418\nrules: [{name: a, limit: 1, window: 1s}]",
                "ban_status: must be 403 or 429"},
        BadFile{"key_with_empty_user",
                "rules: [{name: a, limit: 1, window: 1s}]\napi_keys: {k1: {user: ''}}",
                "api_keys.k1.user: \"\" is not a valid user id"},
        BadFile{"key_with_control_character_in_user",
                "rules: [{name: a, limit: 1, window: 1s}]\napi_keys: {k1: {user: \"ev\\til\"}}",
                "api_keys.k1.user"},
        BadFile{"duration_beyond_any_range",
                "rules: [{name: a, limit: 1, window: 1" + std::string(400, '0') + "s}]",
                "rules[0].window: \"10000000000"},
        BadFile{"limit_beyond_any_range",
                "rules: [{name: a, limit: 1" + std::string(400, '0') + ", window: 1s}]",
                "rules[0].limit"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DefaultPolicy, IsOneTokenBucketPerUserAndAction) {
  Policy p = DefaultPolicy(10, 0.5);
  ASSERT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].limit.algorithm, Algorithm::kTokenBucket);
  EXPECT_EQ(p.rules[0].limit.burst, 10);
  EXPECT_DOUBLE_EQ(p.rules[0].limit.RatePerUs(), 0.5 / 1e6);
  EXPECT_EQ(p.rules[0].limit.window_ms, 20000);
  EXPECT_EQ(p.rules[0].scope, Scope::kUserAction);
  EXPECT_EQ(Capacity(p.rules[0].limit), 10);
}

TEST(Resolve, UnknownApiKeyIsRefusedAndKnownOneNamesTheUserAndTier) {
  Policy p = DefaultPolicy(10, 1);
  CheckRequest request{.user_id = "u", .action = "a", .cost = 1, .api_key = "k"};
  EXPECT_EQ(Resolve(p, request, nullptr).kind, Resolution::Kind::kUnknownApiKey);
  ApiKey key{"alice", "default"};
  Resolution r = Resolve(p, request, &key);
  EXPECT_EQ(r.kind, Resolution::Kind::kCheck);
  EXPECT_EQ(r.user_id, "alice");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].key, "rl:{alice}:s:default/tb:a");
}

TEST(ParsePolicyYaml, NumbersBeyondAnyRangeAreValidationErrorsNeverExceptions) {
  for (const std::string& bad :
       {std::string("1") + std::string(400, '0') + "s", std::string(5000, '9') + "ms",
        std::string("1e999s"), std::string("-5s"), std::string("1.5.5s"), std::string(".5s"),
        std::string("5 s s")}) {
    common::Result<Policy> p = Status::Ok();
    EXPECT_NO_THROW(
        p = ParsePolicyYaml("rules: [{name: a, limit: 1, window: \"" + bad + "\"}]", "t.yaml"))
        << bad;
    EXPECT_FALSE(p.ok()) << bad;
  }
}

TEST(Resolve, DenyAndAllowListsApplyToAnyApiKeyEvenOneNotInTheFile) {
  auto p = ParsePolicyYaml(
      "rules: [{name: a, limit: 1, window: 1s}]\n"
      "allow: {api_keys: [key-monitor]}\ndeny: {api_keys: [key-revoked]}",
      "t.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  CheckRequest revoked{.user_id = "", .action = "a", .cost = 1, .api_key = "key-revoked"};
  EXPECT_EQ(Resolve(p.value(), revoked, nullptr).kind, Resolution::Kind::kDenyListed);
  CheckRequest monitor{.user_id = "", .action = "a", .cost = 1, .api_key = "key-monitor"};
  EXPECT_EQ(Resolve(p.value(), monitor, nullptr).kind, Resolution::Kind::kAllowListed);
}

// The key a rule's state lives under, for user u1 and action a.
std::string StateKey(const std::string& rule) {
  auto p = ParsePolicyYaml("rules: [" + rule + "]", "t.yaml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  if (!p.ok()) return "";
  CheckRequest request{.user_id = "u1", .action = "a", .cost = 1, .api_key = ""};
  Resolution r = Resolve(p.value(), request, nullptr);
  return r.checks.empty() ? "" : r.checks[0].key;
}

TEST(Resolve, StateKeysChangeWhenWhatTheStoredStateMeansChanges) {
  const char* algorithms[] = {"token_bucket",           "gcra",         "sliding_window_log",
                              "sliding_window_counter", "fixed_window", "leaky_bucket"};
  std::set<std::string> keys;
  for (const char* a : algorithms) {
    keys.insert(StateKey(std::string("{name: r, algorithm: ") + a + ", limit: 5, window: 1m}"));
  }
  EXPECT_EQ(keys.size(), 6u) << "each algorithm keeps its state under its own key";
  // A window algorithm's counts belong to windows of one length.
  EXPECT_NE(StateKey("{name: r, algorithm: fixed_window, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: fixed_window, limit: 5, window: 2m}"));
  EXPECT_NE(StateKey("{name: r, algorithm: sliding_window_counter, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: sliding_window_counter, limit: 5, window: 2m}"));
  // GCRA stores a time whose meaning depends on the rate.
  EXPECT_NE(StateKey("{name: r, algorithm: gcra, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: gcra, limit: 6, window: 1m}"));
  // Tokens, levels, counts and logged times keep their meaning across these changes.
  EXPECT_EQ(StateKey("{name: r, algorithm: token_bucket, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: token_bucket, limit: 9, window: 2m, burst: 3}"));
  EXPECT_EQ(StateKey("{name: r, algorithm: leaky_bucket, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: leaky_bucket, limit: 9, window: 2m, burst: 3}"));
  EXPECT_EQ(StateKey("{name: r, algorithm: fixed_window, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: fixed_window, limit: 9, window: 1m}"));
  EXPECT_EQ(StateKey("{name: r, algorithm: sliding_window_log, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: sliding_window_log, limit: 9, window: 2m}"));
  EXPECT_EQ(StateKey("{name: r, algorithm: gcra, limit: 5, window: 1m}"),
            StateKey("{name: r, algorithm: gcra, limit: 5, window: 1m, burst: 2}"));
}

}  // namespace
}  // namespace rl::limiter

namespace rl::limiter {
namespace {

TEST(ParseApiKeyEntry, ReadsTheDocumentedTierColonUserFormat) {
  // docs/configuration.md and config/limits.example.yaml: HSET rl:api_keys key-carol premium:carol
  auto p = ParsePolicyYaml(
      "rules: [{name: a, limit: 1, window: 1s}]\ntiers: {free: [a], premium: [a]}\n"
      "default_tier: free",
      "t.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto carol = ParseApiKeyEntry(p.value(), "premium:carol");
  ASSERT_TRUE(carol.has_value());
  EXPECT_EQ(carol->tier, "premium");
  EXPECT_EQ(carol->user_id, "carol");
  auto colon_in_user = ParseApiKeyEntry(p.value(), "free:org:team");  // the first ':' splits
  ASSERT_TRUE(colon_in_user.has_value());
  EXPECT_EQ(colon_in_user->user_id, "org:team");
  for (const char* bad : {"carol", "gold:carol", "premium:", ":carol", "premium:ev\til"}) {
    EXPECT_FALSE(ParseApiKeyEntry(p.value(), bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace rl::limiter
