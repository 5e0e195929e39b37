#pragma once

#include <optional>

#include "common/base/clock.h"
#include "common/redis/redis_client.h"
#include "limiter/core/decision_store.h"

namespace rl::limiter {

// Parses the reply of scripts/policy.lua for `rules` rules. Pure.
common::Result<StoreAnswer> ParsePolicyReply(const common::RedisValue& reply, size_t rules);

// KEYS and ARGV of scripts/policy.lua for one request's checks (all in one shard), deciding at
// `now_us` if given, else at Redis TIME. Pure.
common::ScriptCall PolicyScriptCall(const std::vector<RuleCheck>& checks,
                                    std::optional<int64_t> now_us = std::nullopt);

// KEYS and ARGV of one policy.lua call deciding several requests (all in one shard), each as its
// own call would, in order, at Redis TIME (or `now_us`). Pure.
common::ScriptCall PolicyBatchScriptCall(const std::vector<std::vector<RuleCheck>>& requests,
                                         std::optional<int64_t> now_us = std::nullopt);
// Parses the reply of a batch call: one answer per request, or the reply's error for each. Pure.
std::vector<common::Result<StoreAnswer>> ParsePolicyBatchReply(
    const common::Result<common::RedisValue>& reply,
    const std::vector<std::vector<RuleCheck>>& requests);

// The store ports over Redis. Decisions: one EVALSHA of policy.lua per decision, whatever the
// number of rules, bans included, when the request's keys share a shard (always on one server; in
// a Redis Cluster when every rule's key carries the same hash tag, e.g. all user-scoped rules). A
// batch whose requests all share one shard (always on one server) is one EVALSHA for all of them;
// otherwise one per request, pipelined.
//
// Rules whose keys live in different cluster slots (a per-user rule with a `global` or `api_key`
// rule) are decided by the cross-slot protocol (docs/scaling.md): one atomic policy.lua call per
// slot, in ascending slot order; if any slot refuses the request (a block or a ban), refund.lua
// gives back what the slots that admitted it charged. A request is admitted only if every slot
// admitted it and charged it, so nothing is ever over-admitted; a concurrent request may be
// refused by a charge that is refunded a moment later, and a limiter that dies between the charge
// and the refund leaves that charge in place (both err on the side of the limit).
class RedisDecisionStore final : public DecisionStore, public ApiKeyStore, public AdminStore {
 public:
  // `refunds_failed` (optional) counts refunds Redis did not take.
  RedisDecisionStore(common::RedisClient& redis, const common::Clock& clock,
                     common::Counter* refunds_failed = nullptr);
  common::Result<StoreAnswer> Decide(const std::vector<RuleCheck>& checks) override;
  // One pipelined round trip: one EVALSHA of policy.lua per request.
  std::vector<common::Result<StoreAnswer>> DecideMany(
      const std::vector<std::vector<RuleCheck>>& requests) override;
  common::Status Ping(int64_t* latency_us) override;
  // One pipelined round trip: one HGET per key.
  std::vector<common::Result<std::optional<std::string>>> LookupApiKeys(
      const std::string& hash, const std::vector<std::string>& api_keys) override;
  common::Result<KeyState> Inspect(const std::string& key) override;
  common::Result<int64_t> Delete(const std::vector<std::string>& keys) override;

  // Decide() at a given time instead of Redis TIME: for the tests that run the same tables
  // against the reference model and the script. Never used by the limiter.
  common::Result<StoreAnswer> DecideAt(const std::vector<RuleCheck>& checks,
                                       std::optional<int64_t> now_us);

 private:
  // Whether every check's key is in one shard (always on one server): one script call.
  bool OneShard(const std::vector<RuleCheck>& checks) const;
  // Whether the requests `which` (each OneShard) all live in one shard: one batch call.
  bool OneShardForAll(const std::vector<std::vector<RuleCheck>>& requests,
                      const std::vector<size_t>& which) const;
  // The checks of one request grouped by shard, in ascending shard order (indices into checks).
  std::vector<std::vector<size_t>> ShardGroups(const std::vector<RuleCheck>& checks) const;
  // The cross-slot protocol for a request whose keys span several shards.
  common::Result<StoreAnswer> DecideAcrossShards(const std::vector<RuleCheck>& checks,
                                                 const std::vector<std::vector<size_t>>& groups,
                                                 std::optional<int64_t> now_us);
  // Gives back what a shard's call charged (its admitted rules); logs and counts a failure.
  void Refund(const std::vector<RuleCheck>& checks, const std::vector<size_t>& group,
              const StoreAnswer& charged);

  common::RedisClient& redis_;
  const common::Clock& clock_;
  common::Counter* const refunds_failed_;
  const common::LuaScript script_;
  const common::LuaScript refund_script_;
};

}  // namespace rl::limiter
