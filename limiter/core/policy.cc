#include "limiter/core/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

#include "common/base/identifiers.h"
#include "limiter/core/keys.h"
#include "limiter/core/yaml_reader.h"

namespace rl::limiter {

using common::Result;
using common::Status;

namespace {
// Every scope and its name in the limits file, in the order errors list them.
constexpr std::pair<Scope, std::string_view> kScopeNames[] = {
    {Scope::kUser, "user"},
    {Scope::kUserAction, "user_action"},
    {Scope::kApiKey, "api_key"},
    {Scope::kGlobal, "global"},
};
}  // namespace

std::string_view ScopeName(Scope scope) {
  for (const auto& [s, name] : kScopeNames) {
    if (s == scope) return name;
  }
  return "user_action";
}

std::optional<Scope> ParseScope(std::string_view name) {
  for (const auto& [scope, n] : kScopeNames) {
    if (n == name) return scope;
  }
  return std::nullopt;
}

bool Rule::Matches(std::string_view action) const {
  return actions.empty() || std::find(actions.begin(), actions.end(), action) != actions.end();
}

int64_t Capacity(const LimitParams& limit) {
  const bool bucket = limit.algorithm == Algorithm::kTokenBucket ||
                      limit.algorithm == Algorithm::kGcra ||
                      limit.algorithm == Algorithm::kLeakyBucket;
  return bucket ? limit.burst : limit.limit;
}

Policy DefaultPolicy(int64_t capacity, double refill_per_sec) {
  Policy p;
  p.version = "defaults";
  p.source = "environment";
  Rule rule;
  rule.name = "default";
  rule.limit.algorithm = Algorithm::kTokenBucket;
  rule.limit.limit = capacity;
  rule.limit.burst = capacity;
  rule.limit.refill_per_sec = refill_per_sec;
  rule.limit.window_ms =
      static_cast<int64_t>(std::ceil(static_cast<double>(capacity) / refill_per_sec * 1000.0));
  rule.scope = Scope::kUserAction;
  p.rules.push_back(rule);
  p.tiers["default"] = {0};
  p.default_tier = "default";
  return p;
}

namespace {

std::optional<Rule> ReadRule(Reader& r, const YAML::Node& n, const std::string& where) {
  if (!n.IsMap()) {
    r.Fail(where, "must be a mapping");
    return std::nullopt;
  }
  r.OnlyKeys(
      n, where,
      {"name", "algorithm", "limit", "window", "burst", "scope", "match", "shadow", "penalty"});
  Rule rule;
  if (!n["name"])
    r.Fail(where + ".name", "is required");
  else if (auto name = r.Str(n["name"], where + ".name"))
    rule.name = *name;
  if (!rule.name.empty() && !IsValidRuleName(rule.name)) {
    r.Fail(where + ".name", Quoted(rule.name) + " does not match [A-Za-z0-9_.-]{1,64}");
  }
  std::string algorithm = "token_bucket";
  if (n["algorithm"]) {
    if (auto a = r.Str(n["algorithm"], where + ".algorithm")) algorithm = *a;
  }
  if (auto a = ParseAlgorithm(algorithm)) {
    rule.limit.algorithm = *a;
  } else {
    r.Fail(where + ".algorithm",
           Quoted(algorithm) + " is not one of " + AlgorithmNames());
  }
  if (!n["limit"])
    r.Fail(where + ".limit", "is required");
  else if (auto v = r.Int(n["limit"], where + ".limit", 1, 1'000'000'000))
    rule.limit.limit = *v;
  if (!n["window"])
    r.Fail(where + ".window", "is required");
  else if (auto v = r.Duration(n["window"], where + ".window"))
    rule.limit.window_ms = *v;
  rule.limit.burst = rule.limit.limit;
  if (n["burst"]) {
    if (auto v = r.Int(n["burst"], where + ".burst", 1, 1'000'000'000)) rule.limit.burst = *v;
  }
  if (auto too_many = LimitError(rule.limit.algorithm, rule.limit.limit)) {
    r.Fail(where + ".limit", *too_many);
  }
  if (n["scope"]) {
    if (auto s = r.Str(n["scope"], where + ".scope")) {
      if (auto scope = ParseScope(*s)) {
        rule.scope = *scope;
      } else {
        std::string names;
        for (const auto& [scope_of, name] : kScopeNames) {
          names += (names.empty() ? "" : ", ") + std::string(name);
        }
        r.Fail(where + ".scope", Quoted(*s) + " is not one of " + names);
      }
    }
  }
  if (const YAML::Node& match = n["match"]) {
    r.OnlyKeys(match, where + ".match", {"actions"});
    rule.actions = r.StrList(match["actions"], where + ".match.actions");
    for (const auto& a : rule.actions) {
      if (!common::IsValidAction(a))
        r.Fail(where + ".match.actions", "\"" + a + "\" is not a valid action");
    }
  }
  if (n["shadow"]) {
    if (auto v = r.Bool(n["shadow"], where + ".shadow")) rule.shadow = *v;
  }
  if (const YAML::Node& penalty = n["penalty"]) {
    r.OnlyKeys(penalty, where + ".penalty", {"blocks", "within", "ban"});
    for (const char* required : {"blocks", "within", "ban"}) {
      if (!penalty[required]) r.Fail(where + ".penalty." + required, "is required");
    }
    if (!r.ok()) return std::nullopt;
    if (auto v = r.Int(penalty["blocks"], where + ".penalty.blocks", 1, 1'000'000))
      rule.penalty.blocks = *v;
    if (auto v = r.Duration(penalty["within"], where + ".penalty.within"))
      rule.penalty.within_ms = *v;
    if (auto v = r.Duration(penalty["ban"], where + ".penalty.ban")) rule.penalty.ban_ms = *v;
  }
  return rule;
}

}  // namespace

namespace {

// version, shadow_mode, ban_status.
void ReadHeader(Reader& r, const YAML::Node& root, Policy& p) {
  if (root["version"]) {
    if (auto v = r.Str(root["version"], "version")) p.version = *v;
  }
  if (root["shadow_mode"]) {
    if (auto v = r.Bool(root["shadow_mode"], "shadow_mode")) p.shadow_mode = *v;
  }
  if (root["ban_status"]) {
    if (auto v = r.Int(root["ban_status"], "ban_status", 403, 429)) {
      if (*v != 403 && *v != 429) r.Fail("ban_status", "must be 403 or 429");
      p.ban_status = static_cast<int>(*v);
    }
  }
}

// `rules`, then `tiers` (rule names) and `default_tier`.
void ReadRulesAndTiers(Reader& r, const YAML::Node& root, Policy& p) {
  const YAML::Node& rules = root["rules"];
  if (!rules || !rules.IsSequence()) {
    r.Fail("rules",
           "must be a non-empty list (or `rules: []`, written on purpose, for no /check limits)");
  } else if (rules.size() == 0) {
    // Written on purpose: no /check limits (deny/allow lists and API keys still apply). An empty
    // or truncated file has no `rules` and is refused above.
    if (root["tiers"]) r.Fail("tiers", "must be absent when `rules` is empty");
    if (root["default_tier"]) r.Fail("default_tier", "must be absent when `rules` is empty");
  } else {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string where = "rules[" + std::to_string(i) + "]";
      auto rule = ReadRule(r, rules[i], where);
      if (!rule) continue;
      if (index.count(rule->name))
        r.Fail(where + ".name", "\"" + rule->name + "\" is defined twice");
      index[rule->name] = p.rules.size();
      p.rules.push_back(*rule);
    }
    if (const YAML::Node& tiers = root["tiers"]) {
      if (!tiers.IsMap()) r.Fail("tiers", "must map tier names to lists of rule names");
      for (const auto& kv : tiers) {
        const std::string tier = kv.first.as<std::string>();
        for (const auto& name : r.StrList(kv.second, "tiers." + tier)) {
          auto it = index.find(name);
          if (it == index.end())
            r.Fail("tiers." + tier, "unknown rule \"" + name + "\"");
          else
            p.tiers[tier].push_back(it->second);
        }
        if (p.tiers[tier].empty() && r.ok()) r.Fail("tiers." + tier, "must list at least one rule");
      }
    } else {
      for (size_t i = 0; i < p.rules.size(); ++i) p.tiers["default"].push_back(i);
    }
    p.default_tier =
        p.tiers.count("default") ? "default" : (p.tiers.empty() ? "" : p.tiers.begin()->first);
    if (root["default_tier"]) {
      if (auto t = r.Str(root["default_tier"], "default_tier")) p.default_tier = *t;
    }
    if (r.ok() && !p.tiers.count(p.default_tier)) {
      r.Fail("default_tier", "unknown tier \"" + p.default_tier + "\"");
    }
  }
}

// `api_keys` (each names a user and a tier of `p`) and `api_keys_redis_hash`.
void ReadApiKeys(Reader& r, const YAML::Node& root, Policy& p) {
  if (const YAML::Node& keys = root["api_keys"]) {
    if (!keys.IsMap()) r.Fail("api_keys", "must map keys to {user, tier}");
    for (const auto& kv : keys) {
      const std::string key = kv.first.as<std::string>();
      const std::string where = "api_keys." + key;
      r.OnlyKeys(kv.second, where, {"user", "tier"});
      ApiKey entry;
      if (!kv.second["user"])
        r.Fail(where + ".user", "is required");
      else if (auto u = r.Str(kv.second["user"], where + ".user"))
        entry.user_id = *u;
      if (kv.second["user"] && !common::IsValidUserId(entry.user_id)) {
        r.Fail(where + ".user", Quoted(entry.user_id) + " is not a valid user id (" +
                                    common::kValidUserIdRule + ")");
      }
      entry.tier = p.default_tier;
      if (kv.second["tier"]) {
        if (auto t = r.Str(kv.second["tier"], where + ".tier")) entry.tier = *t;
      }
      // With `rules: []` there are no tiers: a key names its user only.
      const bool no_tiers = p.tiers.empty() && entry.tier.empty();
      if (r.ok() && !no_tiers && !p.tiers.count(entry.tier))
        r.Fail(where + ".tier", "unknown tier \"" + entry.tier + "\"");
      p.api_keys[key] = entry;
    }
  }
  if (root["api_keys_redis_hash"]) {
    if (auto h = r.Str(root["api_keys_redis_hash"], "api_keys_redis_hash"))
      p.api_keys_redis_hash = *h;
  }
}

// The `allow` and `deny` lists of users and API keys.
void ReadLists(Reader& r, const YAML::Node& root, Policy& p) {
  for (const char* list : {"allow", "deny"}) {
    const YAML::Node& n = root[list];
    if (!n) continue;
    r.OnlyKeys(n, list, {"users", "api_keys"});
    auto users = r.StrList(n["users"], std::string(list) + ".users");
    auto keys = r.StrList(n["api_keys"], std::string(list) + ".api_keys");
    (std::string(list) == "allow" ? p.allow_users : p.deny_users)
        .insert(users.begin(), users.end());
    (std::string(list) == "allow" ? p.allow_api_keys : p.deny_api_keys)
        .insert(keys.begin(), keys.end());
  }
}

Result<Policy> ParsePolicyYamlOrThrow(const std::string& text, const std::string& source) {
  auto loaded = LoadYamlMapping(text);
  if (!loaded.ok()) return loaded.status();
  const YAML::Node root = loaded.value();
  Reader r;
  r.OnlyKeys(root, "",
             {"version", "shadow_mode", "ban_status", "rules", "tiers", "default_tier", "api_keys",
              "api_keys_redis_hash", "allow", "deny"});
  Policy p;
  p.source = source;
  p.version = "unversioned";
  ReadHeader(r, root, p);
  ReadRulesAndTiers(r, root, p);
  ReadApiKeys(r, root, p);
  ReadLists(r, root, p);
  if (!r.ok()) return r.error;
  if (p.shadow_mode) {
    for (Rule& rule : p.rules) rule.shadow = true;
  }
  return p;
}

}  // namespace

Result<Policy> ParsePolicyYaml(const std::string& text, const std::string& source) {
  if (IsDescriptorConfig(text)) {
    auto domain = ParseDescriptorConfig(text, source);
    if (!domain.ok()) return domain.status();
    Policy p;
    p.source = source;
    p.version = "domain " + domain->domain;
    p.domains[domain->domain] = std::move(domain.value());
    return p;
  }
  // yaml-cpp reports some shape errors (a list where a mapping belongs, ...) by throwing.
  try {
    return ParsePolicyYamlOrThrow(text, source);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("unexpected YAML structure: " + std::string(e.what()));
  }
}

namespace {

// The rule name of a descriptor limit: its `name` if it is a valid rule name, else the keys of the
// matched descriptor joined by '.', with anything outside [A-Za-z0-9_.-] as '_'.
std::string DescriptorRuleName(const DescriptorLimit& limit, const DescriptorEntries& entries) {
  if (IsValidRuleName(limit.name)) return limit.name;
  std::string name;
  for (const auto& [key, value] : entries) {
    if (!name.empty()) name += '.';
    for (char c : key) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
      name += ok ? c : '_';
    }
  }
  return name.substr(0, 64);
}

// The user's deny and allow lists: whether they answer `out` (for its user_id).
bool ResolveByUserLists(const Policy& policy, Resolution& out) {
  if (policy.deny_users.count(out.user_id)) {
    out.kind = Resolution::Kind::kDenyListed;
    return true;
  }
  if (policy.allow_users.count(out.user_id)) {
    out.kind = Resolution::Kind::kAllowListed;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Resolution::Kind> ApiKeyListed(const Policy& policy, const std::string& api_key) {
  if (policy.deny_api_keys.count(api_key)) return Resolution::Kind::kDenyListed;
  if (policy.allow_api_keys.count(api_key)) return Resolution::Kind::kAllowListed;
  return std::nullopt;
}

Resolution Resolve(const Policy& policy, const CheckRequest& request, const ApiKey* key) {
  Resolution out;
  const bool has_key = !request.api_key.empty();
  out.user_id = key                                    ? key->user_id
                : !request.user_id.empty() || !has_key ? request.user_id
                                                       : ApiKeyLabel(request.api_key);
  out.tier = key ? key->tier : policy.default_tier;
  // Listed keys need not be known keys: the lists name keys, whoever they belong to.
  if (auto listed = has_key ? ApiKeyListed(policy, request.api_key) : std::nullopt) {
    out.kind = *listed;
    return out;
  }
  if (has_key && key == nullptr) {
    out.kind = Resolution::Kind::kUnknownApiKey;
    return out;
  }
  if (ResolveByUserLists(policy, out)) return out;
  auto tier = policy.tiers.find(out.tier);
  if (tier == policy.tiers.end()) return out;  // no rules: checked against nothing, allowed
  for (size_t index : tier->second) {
    const Rule& rule = policy.rules[index];
    if (!rule.Matches(request.action)) continue;
    RuleCheck check;
    check.rule = rule.name;
    RuleKeys keys = KeysFor(rule.name, StateSchema(rule.limit), rule.scope, out.user_id,
                            request.action, request.api_key);
    check.key = std::move(keys.state);
    check.ban_key = std::move(keys.ban);
    check.strike_key = std::move(keys.strikes);
    check.params = rule.limit;
    check.cost = request.cost;
    check.shadow = rule.shadow;
    check.penalty = rule.penalty;
    out.checks.push_back(std::move(check));
  }
  return out;
}

std::vector<DescriptorMatch> MatchDescriptors(const Policy& policy,
                                              const std::vector<DescriptorRequest>& requests) {
  std::vector<DescriptorMatch> out(requests.size());
  if (requests.empty()) return out;
  auto domain = policy.domains.find(requests.front().domain);
  if (domain == policy.domains.end()) return out;
  std::vector<const DescriptorNode*> kept;
  kept.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    out[i].node = MatchDescriptor(domain->second, requests[i].entries, &out[i].path);
    kept.push_back(out[i].node);
  }
  ApplyReplaces(kept);
  for (size_t i = 0; i < requests.size(); ++i) {
    out[i].replaced = out[i].node != nullptr && kept[i] == nullptr;
  }
  return out;
}

Resolution ResolveDescriptor(const Policy& policy, const DescriptorRequest& request,
                             const DescriptorMatch& match) {
  Resolution out;
  out.user_id = request.check.user_id;
  out.tier = policy.default_tier;
  if (ResolveByUserLists(policy, out)) return out;
  // The request's own limit, as the reference: whatever matched.
  const DescriptorLimit* limit = request.own_limit ? &*request.own_limit : nullptr;
  const std::vector<const DescriptorNode*> no_path;
  if (limit == nullptr) {
    if (match.node == nullptr || match.node->limit->unlimited) return out;
    limit = &*match.node->limit;
  }
  RuleCheck check;
  check.rule = DescriptorRuleName(*limit, request.entries);
  check.params = limit->Params();
  check.unit = limit->unit;
  RuleKeys keys = DescriptorKeysFor(
      request.domain, CountedEntries(request.entries, request.own_limit ? no_path : match.path),
      check.rule, StateSchema(check.params));
  check.key = std::move(keys.state);
  check.ban_key = std::move(keys.ban);
  check.strike_key = std::move(keys.strikes);
  check.cost = request.check.cost;
  check.shadow = limit->shadow_mode || policy.shadow_mode;
  check.charge_when_over = !check.shadow && check.params.algorithm == Algorithm::kFixedWindow;
  out.checks.push_back(std::move(check));
  return out;
}

}  // namespace rl::limiter
