#pragma once
// The rule set the limiter enforces: rules, tiers, API keys, shadow mode, penalties and lists.
// Loaded from the limits file (LIMITS_FILE, YAML; see docs/configuration.md) or built from the
// DEFAULT_* settings when there is no file. Immutable once built; hot reload swaps whole policies.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "limiter/core/algorithm/algorithms.h"
#include "limiter/core/algorithm/rule_check.h"
#include "limiter/core/check_request.h"
#include "limiter/core/descriptor_config.h"
#include "limiter/core/keys.h"

namespace rl::limiter {

std::string_view ScopeName(Scope scope);
std::optional<Scope> ParseScope(std::string_view name);

// The most one request may cost under a rule: its bucket capacity, or its window's limit.
int64_t Capacity(const LimitParams& limit);

struct Rule {
  std::string name;
  LimitParams limit;
  Scope scope = Scope::kUserAction;
  std::vector<std::string> actions;  // empty: every action
  bool shadow = false;
  Penalty penalty;

  bool Matches(std::string_view action) const;
};

struct ApiKey {
  std::string user_id;
  std::string tier;
};

struct Policy {
  std::string version;  // the file's `version`, or "defaults"; /config adds a content hash
  std::string source;   // the file it came from, or "environment"
  std::vector<Rule> rules;
  std::map<std::string, std::vector<size_t>> tiers;  // tier -> indexes into rules
  std::string default_tier;
  std::map<std::string, ApiKey> api_keys;
  std::string api_keys_redis_hash;  // optional: HGET <hash> <key> -> "<tier>:<user>"
  bool shadow_mode = false;         // every rule in shadow mode
  int ban_status = 429;             // 429 or 403
  std::set<std::string> allow_users, deny_users, allow_api_keys, deny_api_keys;
  // Envoy ratelimit's descriptor configs, by domain: what gRPC ShouldRateLimit requests follow.
  std::map<std::string, DescriptorDomain> domains;
};

// One rule for everyone: DEFAULT_CAPACITY tokens refilled at DEFAULT_REFILL_PER_SEC, per user and
// action. What the limiter does without a limits file.
Policy DefaultPolicy(int64_t capacity, double refill_per_sec);

// Parses and validates a limits file: the project's own format, or Envoy ratelimit's (a file with
// a top-level `domain`; then the policy has that domain and no rules). Errors name the place:
// "rules[2].window: ...".
common::Result<Policy> ParsePolicyYaml(const std::string& text, const std::string& source);

// How a request is to be decided, before any Redis call.
struct Resolution {
  enum class Kind { kCheck, kAllowListed, kDenyListed, kUnknownApiKey };
  Kind kind = Kind::kCheck;
  // The user the request counts for: the API key's user if the key is known, else the request's
  // user_id, else (a listed key that names no user) ApiKeyLabel(key).
  std::string user_id;
  std::string tier;
  std::vector<RuleCheck> checks;  // for kCheck
};

// Whether `api_key` is on the deny list (kDenyListed) or the allow list (kAllowListed): decided
// by the lists alone, whether the key is known or not. Pure.
std::optional<Resolution::Kind> ApiKeyListed(const Policy& policy, const std::string& api_key);

// Resolves `request` against `policy`. `key` is the API key's entry when the request carried one
// that is known (from the file or the Redis hash; see ResolveRequest). In this order: a key on the
// deny list is denied and one on the allow list allowed, known or not; an unknown key is refused;
// then the user's lists; then the rules of the tier that match the action. Pure.
Resolution Resolve(const Policy& policy, const CheckRequest& request, const ApiKey* key);

// One request descriptor matched against its domain's config (once: everything after reads
// this): the node that matched (nullptr: none, or one without a limit), the node each entry
// matched (for share_threshold), and whether another descriptor of the same request `replaces`
// the node's limit (by name, within the domain's config).
struct DescriptorMatch {
  const DescriptorNode* node = nullptr;  // points into the policy matched against
  std::vector<const DescriptorNode*> path;
  bool replaced = false;
};
// Matches the descriptors of one request (all of one domain) and applies `replaces` across
// them; one match each, in order. Pure.
std::vector<DescriptorMatch> MatchDescriptors(const Policy& policy,
                                              const std::vector<DescriptorRequest>& requests);
// Resolves one request descriptor that no other `replaces` (a replaced one is answered without a
// decision): the user's lists, then its own limit if it brings one, else the limit of the node it
// matched (none when unmatched or unlimited). Pure.
Resolution ResolveDescriptor(const Policy& policy, const DescriptorRequest& request,
                             const DescriptorMatch& match);

}  // namespace rl::limiter
