#pragma once
// A Redis Cluster client after the cluster specification (Debian's hiredis has none): hash slots
// (common/redis/hash_slot.h), the slot map from CLUSTER SLOTS, MOVED (follow it and reload the
// map), ASK (ASKING, then the command, on the node named), TRYAGAIN (a slot half migrated: try
// again until the timeout), and one RedisPool per primary, so pipelines go per node. After a
// primary dies, calls to its slots fail fast (fail mode; a circuit breaker per primary), and the
// map is reloaded, at most once per `refresh_interval_ms`, until a promoted replica serves them.

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/circuit_breaker.h"
#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/redis/hash_slot.h"
#include "common/redis/redis_client.h"

namespace rl::common {

struct RedisClusterOptions {
  std::vector<RedisEndpoint> seeds;  // any nodes of the cluster; credentials apply to every node
  int timeout_ms = 50;               // connect and per-command timeout, per node
  int refresh_interval_ms = 100;     // the slot map is reloaded at most this often after errors
  Counter* script_reloads = nullptr;
  Counter* moved = nullptr;      // MOVED redirections followed
  Counter* ask = nullptr;        // ASK redirections followed
  Counter* try_again = nullptr;  // TRYAGAIN answers retried
  Counter* refreshes = nullptr;  // slot map reloads
  // Optional: a breaker per primary (RedisBreaker, the same as a standalone server's): after
  // `failure_threshold` failed calls in a row its slots fail at once for `open_ms`, then one call
  // probes it. Other primaries are not affected, and a slot that moves to a promoted replica is
  // served at once.
  std::optional<CircuitBreakerOptions> breaker;
  RedisBreakerMetrics breaker_metrics;
};

// "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>", parsed; false for anything else.
struct Redirection {
  bool ask = false;
  int slot = 0;
  std::string host;  // may be empty: the node that answered
  int port = 0;
};
bool ParseRedirection(const std::string& error, Redirection* out);

// The primaries of a CLUSTER SLOTS reply: [first slot, last slot, host, port] ranges. An empty
// host means the node that answered (`fallback_host`).
struct SlotRange {
  int first = 0;
  int last = 0;
  std::string host;
  int port = 0;
};
Result<std::vector<SlotRange>> ParseClusterSlots(const RedisValue& reply,
                                                 const std::string& fallback_host);

class RedisCluster final : public RedisClient {
 public:
  RedisCluster(RedisClusterOptions options, const Clock& clock);
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Loads the slot map from the first node that answers (known primaries, then the seeds).
  Status Refresh();

  Result<RedisValue> Command(const std::vector<std::string>& argv) override;
  Result<RedisValue> Eval(const LuaScript& script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args) override;
  // Calls grouped by node: one pipelined round trip per node; redirected calls are then followed
  // one by one.
  std::vector<Result<RedisValue>> EvalPipelined(const LuaScript& script,
                                                const std::vector<ScriptCall>& calls) override;
  // Commands grouped by node as EvalPipelined's calls are.
  std::vector<Result<RedisValue>> CommandPipelined(
      const std::vector<std::vector<std::string>>& argvs) override;
  Status Ping(const Clock& clock, int64_t* latency_us) override;
  CircuitBreaker::State BreakerState() const override;
  int ShardOf(std::string_view key) const override { return HashSlot(key); }
  std::string Describe() const override;

  // The primary serving `slot` as host:port, empty if unknown (for tests and logs).
  std::string NodeOf(int slot);

 private:
  // One attempt's way of sending: plain, or behind ASKING on the node an ASK named.
  using Send = std::function<Result<RedisValue>(RedisPool& pool, bool asking)>;
  // Sends to the slot's primary and follows redirections until an answer or the timeout.
  Result<RedisValue> Routed(int slot, const Send& send);
  RedisPool* PoolFor(int slot);
  RedisPool& PoolAt(const std::string& host, int port);
  void RefreshSoon();

  const RedisClusterOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;  // guards pools_ and slots_
  std::map<std::string, std::unique_ptr<RedisPool>> pools_;  // by host:port; only grows
  std::array<RedisPool*, kRedisClusterSlots> slots_{};
  std::mutex refresh_mu_;  // one reload at a time
  std::atomic<int64_t> last_refresh_us_{0};
};

}  // namespace rl::common
