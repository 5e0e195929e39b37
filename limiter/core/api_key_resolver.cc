#include "limiter/core/api_key_resolver.h"

#include <spdlog/spdlog.h>

#include "common/base/identifiers.h"
#include "limiter/core/keys.h"

namespace rl::limiter {

std::optional<ApiKey> ParseApiKeyEntry(const Policy& policy, const std::string& entry) {
  const size_t colon = entry.find(':');
  if (colon == std::string::npos) return std::nullopt;
  ApiKey key{entry.substr(colon + 1), entry.substr(0, colon)};
  if (!policy.tiers.count(key.tier) || !common::IsValidUserId(key.user_id)) return std::nullopt;
  return key;
}

bool NeedsApiKeyLookup(const Policy& policy, const std::string& api_key) {
  // A listed key is answered by its list (Resolve), known or not: never looked up.
  return !policy.api_keys_redis_hash.empty() && !policy.api_keys.count(api_key) &&
         !ApiKeyListed(policy, api_key);
}

std::optional<ApiKey> ApiKeyFromPolicy(const Policy& policy, const std::string& api_key) {
  if (auto it = policy.api_keys.find(api_key); it != policy.api_keys.end()) return it->second;
  return std::nullopt;
}

std::optional<ApiKey> ApiKeyFromEntry(const Policy& policy, const std::string& api_key,
                                      const std::optional<std::string>& entry,
                                      common::LogThrottle& throttle) {
  if (!entry) return std::nullopt;
  std::optional<ApiKey> key = ParseApiKeyEntry(policy, *entry);
  uint64_t suppressed = 0;
  // Throttled: a bad entry is operator data that every request would repeat.
  if (!key && throttle.ShouldLog(&suppressed)) {
    spdlog::warn(
        "policy: the entry of API key {} in Redis hash {} is not \"<tier>:<user>\" with a known "
        "tier and a valid user id; the key is treated as unknown ({} similar lines not logged)",
        ApiKeyLabel(api_key), policy.api_keys_redis_hash, suppressed);
  }
  return key;
}

common::Result<Resolution> ResolveRequest(const Policy& policy, ApiKeyStore& store,
                                          const CheckRequest& request,
                                          common::LogThrottle& throttle) {
  std::optional<ApiKey> key;
  if (!request.api_key.empty() && !NeedsApiKeyLookup(policy, request.api_key)) {
    key = ApiKeyFromPolicy(policy, request.api_key);
  } else if (!request.api_key.empty()) {
    auto entries = store.LookupApiKeys(policy.api_keys_redis_hash, {request.api_key});
    if (!entries.front().ok()) return entries.front().status();
    key = ApiKeyFromEntry(policy, request.api_key, entries.front().value(), throttle);
  }
  return Resolve(policy, request, key ? &*key : nullptr);
}

}  // namespace rl::limiter
