#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "limiter/core/algorithm/rule_check.h"

namespace rl::limiter {

// The store's answer to one policy decision, on the store's clock.
struct StoreAnswer {
  int64_t now_ms = 0;
  RulesAnswer answer;
};

// What an admin sees of one key.
struct KeyState {
  std::string type;                           // "none", "hash", "string", "zset"
  std::map<std::string, std::string> fields;  // hash fields, or {"value": ...}, or {"entries": n}
  int64_t ttl_ms = -2;                        // as PTTL: -2 missing, -1 no expiry
};

// Where limit state lives: the decisions, and nothing else. Implementations are thread-safe. A
// failed Result means the store could not decide (unreachable, timeout, bad reply); the caller
// then applies the fail mode.
class DecisionStore {
 public:
  virtual ~DecisionStore() = default;
  // Decides every check of one request atomically (see limiter/store/scripts/policy.lua).
  virtual common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) = 0;
  // Decides several requests, each atomically on its own, in one round trip where the store can
  // (POST /check/batch). One Result per request, in order. By default, one Decide each.
  virtual std::vector<common::Result<StoreAnswer>> DecideMany(
      const std::vector<std::vector<RuleCheck>>& requests) {
    std::vector<common::Result<StoreAnswer>> answers;
    answers.reserve(requests.size());
    for (const auto& checks : requests) answers.push_back(Decide(checks));
    return answers;
  }
};

// The decision store and the API-key hash asked without waiting, as an event loop asks them: each
// call returns at once and calls `done` later, exactly once, on the thread of the loop the store
// belongs to, with one answer per request (key), in order. The arguments are read during the call
// only. No answer comes later than `deadline_us` (Clock::MonotonicUs(); 0: none): what is not
// answered by then is a Timeout. Not thread-safe: one per loop.
class AsyncDecisionStore {
 public:
  using Answers = std::vector<common::Result<StoreAnswer>>;
  using Entries = std::vector<common::Result<std::optional<std::string>>>;
  virtual ~AsyncDecisionStore() = default;
  // Decides each request atomically on its own (DecisionStore::Decide), all in one write.
  virtual void DecideMany(const std::vector<std::vector<RuleCheck>>& requests, int64_t deadline_us,
                          std::function<void(Answers)> done) = 0;
  // Each key's "<tier>:<user>" entry in `hash` (ApiKeyStore::LookupApiKeys).
  virtual void LookupApiKeys(const std::string& hash, const std::vector<std::string>& api_keys,
                             int64_t deadline_us, std::function<void(Entries)> done) = 0;
};

// Whom API keys name: the entries of a Redis hash (the policy's `api_keys_redis_hash`).
// Thread-safe.
class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;
  // Each key's "<tier>:<user>" entry in `hash` (nullopt if absent), in one round trip where the
  // store can; one Result per key, in order.
  virtual std::vector<common::Result<std::optional<std::string>>> LookupApiKeys(
      const std::string& hash, const std::vector<std::string>& api_keys) = 0;
};

// What operators do with the state: health checks, inspection and resets. Thread-safe.
class AdminStore {
 public:
  virtual ~AdminStore() = default;
  // Round trip to the store, for health checks.
  virtual common::Status Ping(int64_t* latency_us) = 0;
  virtual common::Result<KeyState> Inspect(const std::string& key) = 0;
  // Deletes the keys; returns how many existed.
  virtual common::Result<int64_t> Delete(const std::vector<std::string>& keys) = 0;
};

}  // namespace rl::limiter
