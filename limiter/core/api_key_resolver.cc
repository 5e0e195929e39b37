#include "limiter/core/api_key_resolver.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

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

common::Result<std::optional<ApiKey>> ResolveApiKey(const Policy& policy, DecisionStore& store,
                                                    const std::string& api_key) {
  if (auto it = policy.api_keys.find(api_key); it != policy.api_keys.end()) {
    return std::optional<ApiKey>(it->second);
  }
  if (policy.allow_api_keys.count(api_key) || policy.deny_api_keys.count(api_key) ||
      policy.api_keys_redis_hash.empty()) {
    return std::optional<ApiKey>();
  }
  auto entry = store.LookupApiKey(policy.api_keys_redis_hash, api_key);
  if (!entry.ok()) return entry.status();
  if (!entry.value()) return std::optional<ApiKey>();
  std::optional<ApiKey> key = ParseApiKeyEntry(policy, *entry.value());
  if (!key) {
    // At most one line a second: a bad entry is operator data that every request would repeat.
    static std::atomic<int64_t> last_log_s{0};
    const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now().time_since_epoch())
                              .count();
    if (last_log_s.exchange(now_s) != now_s) {
      spdlog::warn(
          "policy: the entry of API key {} in Redis hash {} is not \"<tier>:<user>\" with a known "
          "tier and a valid user id; the key is treated as unknown",
          ApiKeyLabel(api_key), policy.api_keys_redis_hash);
    }
  }
  return key;
}

}  // namespace rl::limiter
