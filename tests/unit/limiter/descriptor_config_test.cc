// Envoy ratelimit's configuration format and its matching rules, as facts: the same config and
// descriptors must select the same limit as the reference service (envoyproxy/ratelimit).
#include "limiter/core/descriptor_config.h"

#include <gtest/gtest.h>

#include "limiter/core/keys.h"
#include "limiter/core/policy.h"
#include "limiter/core/policy_holder.h"

namespace rl::limiter {
namespace {

DescriptorDomain Parse(const std::string& yaml) {
  auto domain = ParseDescriptorConfig(yaml, "test.yaml");
  EXPECT_TRUE(domain.ok()) << domain.status().message();
  return domain.ok() ? domain.value() : DescriptorDomain{};
}

// requests_per_unit/unit of the limit that applies, or "none".
std::string Limit(const DescriptorDomain& d, const DescriptorEntries& entries) {
  const DescriptorNode* node = MatchDescriptor(d, entries);
  if (node == nullptr) return "none";
  if (node->limit->unlimited) return "unlimited";
  return std::to_string(node->limit->requests_per_unit) + "/" + std::string(UnitName(node->limit->unit));
}

const char* kNested = R"(
domain: test-domain
descriptors:
  - key: key1
    value: value1
    descriptors:
      - key: subkey1
        rate_limit: {unit: second, requests_per_unit: 5}
      - key: subkey1
        value: subvalue1
        rate_limit: {unit: minute, requests_per_unit: 10}
  - key: key2
    rate_limit: {unit: minute, requests_per_unit: 20}
  - key: key2
    value: value2
    rate_limit: {unit: hour, requests_per_unit: 30}
  - key: key3
    rate_limit: {unlimited: true}
  - key: key4
    rate_limit: {unit: day, requests_per_unit: 1}
    descriptors:
      - key: key5
        rate_limit: {unit: week, requests_per_unit: 2}
)";

TEST(DescriptorConfig, AnExactValueIsChosenBeforeTheKeyAloneWhateverTheOrder) {
  const auto d = Parse(kNested);
  EXPECT_EQ(Limit(d, {{"key2", "value2"}}), "30/hour");
  EXPECT_EQ(Limit(d, {{"key2", "other"}}), "20/minute");
  EXPECT_EQ(Limit(d, {{"key1", "value1"}, {"subkey1", "subvalue1"}}), "10/minute");
  EXPECT_EQ(Limit(d, {{"key1", "value1"}, {"subkey1", "anything"}}), "5/second");
}

TEST(DescriptorConfig, OnlyTheNodeOfTheLastEntryDecides) {
  const auto d = Parse(kNested);
  EXPECT_EQ(Limit(d, {{"key1", "value1"}}), "none");  // its node has no limit of its own
  EXPECT_EQ(Limit(d, {{"key4", "x"}}), "1/day");
  EXPECT_EQ(Limit(d, {{"key4", "x"}, {"key5", "y"}}), "2/week");  // the deepest match decides
  // The request goes deeper than the config: no limit.
  EXPECT_EQ(Limit(d, {{"key2", "value2"}, {"key9", "z"}}), "none");
  EXPECT_EQ(Limit(d, {{"key1", "value1"}, {"subkey1", "a"}, {"more", "b"}}), "none");
}

// The reference's wildcard values: a value ending in '*' matches every value with that prefix,
// after an exact value and before the key alone; a '*' anywhere else is an ordinary character.
TEST(DescriptorConfig, ATrailingStarMatchesEveryValueWithThatPrefix) {
  const auto d = Parse(R"(
domain: test-domain
descriptors:
  - {key: wild, value: foo*, rate_limit: {unit: minute, requests_per_unit: 20}}
  - {key: wild, value: foobar, rate_limit: {unit: minute, requests_per_unit: 5}}
  - {key: wild, rate_limit: {unit: hour, requests_per_unit: 1}}
  - {key: noWild, value: foo, rate_limit: {unit: minute, requests_per_unit: 20}}
  - {key: midWild, value: bar*b, rate_limit: {unit: minute, requests_per_unit: 20}}
  - key: files
    value: files/*
    descriptors:
      - {key: method, value: GET, rate_limit: {unit: second, requests_per_unit: 7}}
)");
  EXPECT_EQ(Limit(d, {{"wild", "foo1"}}), "20/minute");
  EXPECT_EQ(Limit(d, {{"wild", "foo"}}), "20/minute");    // an empty rest matches
  EXPECT_EQ(Limit(d, {{"wild", "foobar"}}), "5/minute");  // the exact value first
  EXPECT_EQ(Limit(d, {{"wild", "bar"}}), "1/hour");       // then the key alone
  EXPECT_EQ(Limit(d, {{"noWild", "foo1"}}), "none");
  EXPECT_EQ(Limit(d, {{"midWild", "barab"}}), "none");  // '*' inside is literal
  EXPECT_EQ(Limit(d, {{"midWild", "bar*b"}}), "20/minute");
  EXPECT_EQ(Limit(d, {{"files", "files/a.pdf"}, {"method", "GET"}}), "7/second");
  EXPECT_EQ(Limit(d, {{"files", "docs/a.pdf"}, {"method", "GET"}}), "none");
}

TEST(DescriptorConfig, NoMatchMeansNoLimitAndUnlimitedIsExplicit) {
  const auto d = Parse(kNested);
  EXPECT_EQ(Limit(d, {{"nope", "x"}}), "none");
  EXPECT_EQ(Limit(d, {{"key1", "other"}, {"subkey1", "a"}}), "none");
  EXPECT_EQ(Limit(d, {{"key3", "x"}}), "unlimited");
  EXPECT_EQ(Limit(d, {}), "none");
}

TEST(DescriptorConfig, UnitsAreTheReferencesAndCaseDoesNotMatter) {
  const auto d = Parse(R"(
domain: units
descriptors:
  - {key: s, rate_limit: {unit: SECOND, requests_per_unit: 1}}
  - {key: m, rate_limit: {unit: Month, requests_per_unit: 1}}
  - {key: y, rate_limit: {unit: year, requests_per_unit: 1}}
)");
  EXPECT_EQ(MatchDescriptor(d, {{"s", "1"}})->limit->WindowMs(), 1000);
  EXPECT_EQ(MatchDescriptor(d, {{"m", "1"}})->limit->WindowMs(), 30LL * 24 * 3600 * 1000);
  EXPECT_EQ(MatchDescriptor(d, {{"y", "1"}})->limit->WindowMs(), 365LL * 24 * 3600 * 1000);
}

TEST(DescriptorConfig, FixedWindowIsTheDefaultAndAnyAlgorithmCanBeChosen) {
  const auto d = Parse(R"(
domain: algorithms
descriptors:
  - {key: a, rate_limit: {unit: minute, requests_per_unit: 10}}
  - {key: b, rate_limit: {unit: minute, requests_per_unit: 10, algorithm: gcra}}
)");
  const LimitParams a = MatchDescriptor(d, {{"a", "1"}})->limit->Params();
  EXPECT_EQ(a.algorithm, Algorithm::kFixedWindow);
  EXPECT_EQ(a.limit, 10);
  EXPECT_EQ(a.window_ms, 60000);
  EXPECT_EQ(MatchDescriptor(d, {{"b", "1"}})->limit->Params().algorithm, Algorithm::kGcra);
}

TEST(DescriptorConfig, ShadowModeAndReplacesAreRead) {
  const auto d = Parse(R"(
domain: replace
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 10, name: per-user}
  - key: premium
    shadow_mode: true
    detailed_metric: true
    rate_limit:
      unit: minute
      requests_per_unit: 100
      replaces: [{name: per-user}]
)");
  std::vector<const DescriptorNode*> matches = {MatchDescriptor(d, {{"user", "u"}}),
                                                MatchDescriptor(d, {{"premium", "yes"}}),
                                                MatchDescriptor(d, {{"other", "x"}})};
  EXPECT_TRUE(matches[1]->limit->shadow_mode);
  EXPECT_TRUE(matches[1]->limit->detailed_metric);
  ApplyReplaces(matches);
  EXPECT_EQ(matches[0], nullptr);  // replaced by the premium limit
  ASSERT_NE(matches[1], nullptr);
  EXPECT_EQ(matches[1]->limit->requests_per_unit, 100);
  EXPECT_EQ(matches[2], nullptr);
}

TEST(DescriptorConfig, MistakesAreNamedAndQuoted) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"descriptors: []", "domain: is required"},
           {"domain: d\ndescriptors:\n  - {key: k, rate_limit: {unit: fortnight, "
            "requests_per_unit: 1}}",
            "descriptors[0].rate_limit.unit: \"fortnight\" is not one of second"},
           {"domain: d\ndescriptors:\n  - {key: k, rate_limit: {unlimited: true, unit: second}}",
            "descriptors[0].rate_limit: an unlimited rate_limit has no unit"},
           {"domain: d\ndescriptors:\n  - {key: k, value: v}\n  - {key: k, value: v}",
            "descriptors[1]: the key \"k\" with value \"v\" is already at this level"},
           {"domain: d\ndescriptors:\n  - {key: k, rate_limit: {unit: second, requests_per_unit: "
            "-1}}",
            "descriptors[0].rate_limit.requests_per_unit: \"-1\" is not an integer"},
           {"domain: d\ndescriptors:\n  - {key: k, rate_limt: {}}",
            "descriptors[0].rate_limt: unknown setting"},
           {"domain: d\ndescriptors:\n  - {value: v}", "descriptors[0].key: is required"},
           {"domain: d\ndescriptors:\n  - {key: k, rate_limit: {unit: second, requests_per_unit: "
            "1, "
            "algorithm: magic}}",
            "descriptors[0].rate_limit.algorithm: \"magic\" is not one of"},
           {"domain: d\ndescriptors:\n  - {key: k, rate_limit: {unit: second, requests_per_unit: "
            "0, algorithm: token_bucket}}",
            "descriptors[0].rate_limit.requests_per_unit: 0 (block every request) is only "
            "for fixed_window"},
       }) {
    auto parsed = ParseDescriptorConfig(c.yaml, "bad.yaml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_NE(parsed.status().message().find(c.message), std::string::npos)
        << parsed.status().message();
  }
}

TEST(DescriptorConfig, TheFormatIsToldApartFromTheProjectsOwn) {
  EXPECT_TRUE(IsDescriptorConfig("domain: d\ndescriptors: []"));
  EXPECT_FALSE(IsDescriptorConfig("version: 1\nrules: []"));
  EXPECT_FALSE(IsDescriptorConfig("{not yaml"));
}

}  // namespace
}  // namespace rl::limiter

namespace rl::limiter {
namespace {

DescriptorRequest Descriptor(const std::string& domain, DescriptorEntries entries) {
  DescriptorRequest r;
  r.check.user_id = "someone";
  r.domain = domain;
  r.entries = std::move(entries);
  return r;
}

// One request descriptor matched and resolved, as the decision core plans it.
Resolution ResolveOne(const Policy& policy, const DescriptorRequest& request) {
  return ResolveDescriptor(policy, request, MatchDescriptors(policy, {request}).front());
}

TEST(DescriptorPolicy, AReferenceFormatFileIsAPolicyWhoseDomainDecidesDescriptors) {
  auto policy = ParsePolicyYaml(kNested, "envoy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  EXPECT_TRUE(policy->rules.empty());
  Resolution r = ResolveOne(policy.value(), Descriptor("test-domain", {{"key2", "value2"}}));
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].rule, "key2");
  EXPECT_EQ(r.checks[0].key, "rl:d:{test-domain|key2=value2}:s:key2/fw3600000");
  EXPECT_EQ(r.checks[0].params.algorithm, Algorithm::kFixedWindow);
  EXPECT_EQ(r.checks[0].params.limit, 30);
  EXPECT_EQ(r.checks[0].params.window_ms, 3600000);
  // A key-only match still counts per value, as the reference does.
  Resolution other = ResolveOne(policy.value(), Descriptor("test-domain", {{"key2", "x"}}));
  ASSERT_EQ(other.checks.size(), 1u);
  EXPECT_EQ(other.checks[0].key, "rl:d:{test-domain|key2=x}:s:key2/fw60000");
}

// share_threshold: every value a wildcard matches shares one counter (the reference's
// share_threshold); without it each value counts on its own.
TEST(DescriptorPolicy, AWildcardWithShareThresholdCountsAllItsValuesTogether) {
  auto policy = ParsePolicyYaml(R"(
domain: d
descriptors:
  - key: files
    value: files/*
    share_threshold: true
    rate_limit: {unit: minute, requests_per_unit: 100}
  - key: docs
    value: docs/*
    rate_limit: {unit: minute, requests_per_unit: 100}
  - key: path
    value: path/*
    share_threshold: true
    descriptors:
      - {key: method, rate_limit: {unit: minute, requests_per_unit: 5}}
)",
                                "d.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  auto key = [&](DescriptorEntries entries) {
    Resolution r = ResolveOne(policy.value(), Descriptor("d", std::move(entries)));
    return r.checks.size() == 1 ? r.checks[0].key : std::string("none");
  };
  EXPECT_EQ(key({{"files", "files/a.pdf"}}), key({{"files", "files/b.pdf"}}));
  EXPECT_NE(key({{"docs", "docs/a.pdf"}}), key({{"docs", "docs/b.pdf"}}));
  // Nested: the shared entry is the wildcard's; the next entry still counts per value.
  EXPECT_EQ(key({{"path", "path/x"}, {"method", "GET"}}),
            key({{"path", "path/y"}, {"method", "GET"}}));
  EXPECT_NE(key({{"path", "path/x"}, {"method", "GET"}}),
            key({{"path", "path/x"}, {"method", "PUT"}}));
  // Only a wildcard value can share.
  auto bad = ParsePolicyYaml(
      "domain: d\ndescriptors:\n  - {key: k, value: v, share_threshold: true, rate_limit: "
      "{unit: second, requests_per_unit: 1}}\n",
      "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("descriptors[0].share_threshold: needs a wildcard value"),
            std::string::npos)
      << bad.status().message();
}

TEST(DescriptorPolicy, NoLimitGivesNoCheck) {
  auto policy = ParsePolicyYaml(kNested, "envoy.yaml");
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(
      ResolveOne(policy.value(), Descriptor("test-domain", {{"key3", "x"}})).checks.empty());
  EXPECT_TRUE(
      ResolveOne(policy.value(), Descriptor("test-domain", {{"nope", "x"}})).checks.empty());
  EXPECT_TRUE(
      ResolveOne(policy.value(), Descriptor("other-domain", {{"key2", "x"}})).checks.empty());
}

TEST(DescriptorPolicy, DescriptorsThatDifferGiveDifferentKeysWhateverTheirCharacters) {
  const auto a = DescriptorKeysFor("d", {{"a|b", "c"}}, "r", "fw1000").state;
  const auto b = DescriptorKeysFor("d", {{"a", "b=c"}}, "r", "fw1000").state;
  const auto c = DescriptorKeysFor("d", {{"a", "b"}, {"c", ""}}, "r", "fw1000").state;
  const auto d = DescriptorKeysFor("d", {{"a%7Cb", "c"}}, "r", "fw1000").state;
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
  EXPECT_NE(a, d);
  EXPECT_EQ(a.find('{'), a.rfind('{'));  // one hash tag
}

}  // namespace
}  // namespace rl::limiter

namespace rl::limiter {
namespace {

std::string Bundle(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  for (const auto& [name, text] : files) out += "#@rl-limits-file " + name + "\n" + text + "\n";
  return out;
}

TEST(LimitsBundle, RulesAndDomainsFromSeveralFilesMakeOnePolicy) {
  auto policy = ParseLimitsBundle(
      Bundle({{"a.yaml", "domain: a\ndescriptors: []"},
              {"b.yaml", "domain: b\ndescriptors: []"},
              {"rules.yaml", "version: v1\nrules:\n  - {name: r, limit: 1, window: 1s}"}}),
      "/etc/limits");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  EXPECT_EQ(policy->domains.size(), 2u);
  EXPECT_EQ(policy->rules.size(), 1u);
  EXPECT_EQ(policy->version, "v1");
}

TEST(LimitsBundle, ConflictsAreErrorsNamingTheFile) {
  auto twice = ParseLimitsBundle(
      Bundle({{"a.yaml", "domain: a\ndescriptors: []"}, {"b.yaml", "domain: a\ndescriptors: []"}}),
      "/etc/limits");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("b.yaml: the domain \"a\" is already defined"),
            std::string::npos)
      << twice.status().message();
  auto two_rules =
      ParseLimitsBundle(Bundle({{"x.yaml", "rules:\n  - {name: r, limit: 1, window: 1s}"},
                                {"y.yaml", "rules:\n  - {name: r, limit: 1, window: 1s}"}}),
                        "/etc/limits");
  ASSERT_FALSE(two_rules.ok());
  EXPECT_NE(two_rules.status().message().find("y.yaml: a second file"), std::string::npos);
  auto bad = ParseLimitsBundle(Bundle({{"z.yaml", "domain: z\ndescriptors: 5"}}), "/etc/limits");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("z.yaml: descriptors: must be a list"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(ParseLimitsBundle("", "/etc/limits").ok());
}

TEST(LimitsBundle, EveryBadFileIsReportedEachErrorOnALineNamingItsFile) {
  auto bad = ParseLimitsBundle(
      Bundle({{"a.yaml",
               "rules:\n  - {name: r, limit: 0, window: 1s}\n  - {name: s, limit: 1, "
               "window: forever}"},
              {"b.yaml", "domain: b\ndescriptors: 5"}}),
      "/etc/limits");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "/etc/limits/a.yaml: rules[0].limit: \"0\" is not an integer from 1 to 1000000000\n"
            "/etc/limits/a.yaml: rules[1].window: \"forever\" is not a duration such as 500ms, "
            "10s, 5m or 1h (from 1ms to 31 days)\n"
            "/etc/limits/b.yaml: descriptors: must be a list");
}

}  // namespace
}  // namespace rl::limiter

namespace rl::limiter {
namespace {

// The statistics name of a descriptor, as the reference's config_impl.go builds it: the config's
// path, unless value_to_metric names a level by the request's value (when it matched by key
// alone or by a wildcard; share_threshold keeps the wildcard), or detailed_metric every level.
std::string StatKey(const DescriptorDomain& d, const DescriptorEntries& entries) {
  std::vector<const DescriptorNode*> path;
  const DescriptorNode* node = MatchDescriptor(d, entries, &path);
  return node == nullptr ? "none" : DescriptorStatKey(*node, entries, path);
}

TEST(DescriptorConfig, ValueToMetricNamesItsLevelByTheRequestsValue) {
  const DescriptorDomain d = Parse(R"(
domain: stats
descriptors:
  - key: route
    value_to_metric: true
    descriptors:
      - key: method
        rate_limit: {unit: minute, requests_per_unit: 10}
  - key: file
    value: docs/*
    value_to_metric: true
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: shared
    value: docs/*
    value_to_metric: true
    share_threshold: true
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: plain
    rate_limit: {unit: minute, requests_per_unit: 10}
)");
  EXPECT_EQ(StatKey(d, {{"route", "/api/users"}, {"method", "GET"}}), "route_/api/users.method");
  EXPECT_EQ(StatKey(d, {{"file", "docs/a.pdf"}}), "file_docs/a.pdf");
  EXPECT_EQ(StatKey(d, {{"shared", "docs/a.pdf"}}), "shared_docs/*");
  EXPECT_EQ(StatKey(d, {{"plain", "x"}}), "plain");  // without it: the config's path
}

// The reference's quota_mode: a soft limit, read beside shadow_mode (rls_service.cc decides what
// it does to the answer).
TEST(DescriptorConfig, QuotaModeIsReadOnTheDescriptorsLimit) {
  const DescriptorDomain d = Parse(
      "domain: d\ndescriptors:\n  - key: k\n    quota_mode: true\n"
      "    rate_limit: {unit: minute, requests_per_unit: 3}\n  - key: hard\n"
      "    rate_limit: {unit: minute, requests_per_unit: 3}\n");
  EXPECT_TRUE(d.descriptors[0].limit->quota_mode);
  EXPECT_FALSE(d.descriptors[1].limit->quota_mode);
}

TEST(DescriptorConfig, ValueToMetricMustBeABoolean) {
  auto domain = ParseDescriptorConfig(
      "domain: d\ndescriptors:\n  - key: k\n    value_to_metric: maybe\n", "t.yaml");
  ASSERT_FALSE(domain.ok());
  EXPECT_NE(domain.status().message().find("value_to_metric"), std::string::npos);
}

}  // namespace
}  // namespace rl::limiter
