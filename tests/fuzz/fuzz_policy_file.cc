// libFuzzer target: a limits file, whatever its bytes, parses to a Result: no crash, no abort, no
// exception (a live reload runs this on a background thread), no hang. What it accepts is a
// policy the limiter can enforce.
#include <cstddef>
#include <cstdint>
#include <string>

#include "limiter/core/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto policy = rl::limiter::ParsePolicyYaml(text, "fuzz.yaml");
  if (!policy.ok()) {
    if (policy.status().message().empty()) __builtin_trap();  // every error says why
    return 0;
  }
  const rl::limiter::Policy& p = policy.value();
  if (!p.domains.empty()) {  // Envoy ratelimit's format: a domain and no rules
    if (p.domains.size() != 1 || !p.rules.empty()) __builtin_trap();
    const rl::limiter::DescriptorDomain& d = p.domains.begin()->second;
    // Every configured limit is enforceable, and every path of the tree matches without a crash.
    std::vector<std::pair<const rl::limiter::DescriptorNode*, rl::limiter::DescriptorEntries>> todo;
    for (const auto& node : d.descriptors) todo.push_back({&node, {{node.key, node.value}}});
    while (!todo.empty()) {
      auto [node, entries] = todo.back();
      todo.pop_back();
      if (node->limit && !node->limit->unlimited && node->limit->WindowMs() <= 0) __builtin_trap();
      rl::limiter::MatchDescriptor(d, entries);
      for (const auto& child : node->descriptors) {
        auto deeper = entries;
        deeper.emplace_back(child.key, child.value);
        todo.push_back({&child, deeper});
      }
    }
    return 0;
  }
  if (p.rules.empty() || !p.tiers.count(p.default_tier)) __builtin_trap();
  for (const auto& rule : p.rules) {
    const auto& l = rule.limit;
    if (l.limit < 1 || l.window_ms < 1 || l.burst < 1 || rule.name.empty()) __builtin_trap();
    if (rule.limit.RatePerUs() <= 0) __builtin_trap();
  }
  for (const auto& [tier, indexes] : p.tiers) {
    for (size_t i : indexes) {
      if (i >= p.rules.size()) __builtin_trap();
    }
  }
  // Every tier resolves a request to checks with keys.
  for (const auto& [key, entry] : p.api_keys) {
    rl::limiter::CheckRequest request{.user_id = "", .action = "login", .cost = 1, .api_key = key};
    auto resolution = rl::limiter::Resolve(p, request, &entry);
    for (const auto& check : resolution.checks) {
      if (check.key.empty() || check.ban_key.empty()) __builtin_trap();
    }
  }
  return 0;
}
