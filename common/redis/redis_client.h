#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/circuit_breaker.h"
#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/base/status.h"
#include "common/redis/redis_breaker.h"

struct redisContext;

namespace rl::common {

// A Redis reply, converted once from hiredis so nothing else depends on hiredis types. A reply
// that is an error is never a RedisValue: RedisClient answers it as a failed Result of code
// kErrorReply (common/base/status.h), the one channel for every error. Only an element inside an
// array reply can be of type kError.
struct RedisValue {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisValue> elements;
};

// redis://[[user]:password@]host[:port][/db]
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;
  std::string password;  // never logged
  int db = 0;

  // host:port/db, safe to log.
  std::string Describe() const;
};
Result<RedisEndpoint> ParseRedisUrl(std::string_view url);


// Whether a call may be sent again after its pooled connection turned out dead: only when running
// it twice leaves the same state as once (reads, or a write guarded by its own check).
enum class Idempotence { kNotIdempotent, kIdempotent };

// A Lua script with its SHA1, for EVALSHA with a NOSCRIPT fallback.
class LuaScript {
 public:
  explicit LuaScript(std::string_view body, Idempotence idempotence = Idempotence::kNotIdempotent);
  const std::string& body() const { return body_; }
  const std::string& sha1() const { return sha1_; }
  bool idempotent() const { return idempotence_ == Idempotence::kIdempotent; }

 private:
  std::string body_;
  std::string sha1_;
  Idempotence idempotence_;
};

// Whether an error reply says the server cannot serve now (OOM, LOADING, BUSY, READONLY, NOAUTH,
// WRONGPASS, MASTERDOWN, CLUSTERDOWN, MISCONF, NOREPLICAS) rather than something about the call
// (WRONGTYPE, a script error, NOSCRIPT, MOVED, ASK, TRYAGAIN): the former counts against the
// server's circuit breaker like a timeout, the latter means it answered.
bool IsServerErrorReply(std::string_view error);

// True for the commands that read, or write the same state however often they run (GET, HGETALL,
// PING, HSET, DEL, ...): safe to send again on a fresh connection.
bool IsIdempotentCommand(std::string_view verb);

// EVAL/EVALSHA's argv: verb, script body or SHA1, the number of keys, keys, args.
std::vector<std::string> ScriptCommand(const char* verb, const std::string& script_or_sha,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args);

// One call of a Lua script: its KEYS and ARGV.
struct ScriptCall {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

// Redis as the limiter's decision store uses it: one server (RedisPool) or a Redis Cluster
// (RedisCluster, common/redis/redis_cluster.h). Thread-safe. Every error is a failed Result, read
// one way: Redis unreachable (kUnavailable), too slow (kTimeout), or its error reply (kErrorReply,
// the reply as the message).
class RedisClient {
 public:
  virtual ~RedisClient() = default;
  // Runs one command. In a cluster it goes to the node serving argv[1]'s slot (so commands with
  // several keys must keep them in one slot); a command without a key goes to any node.
  virtual Result<RedisValue> Command(const std::vector<std::string>& argv) = 0;
  // EVALSHA, and on NOSCRIPT (after a restart, failover or SCRIPT FLUSH) EVAL once. All keys of
  // one call must share a shard (ShardOf).
  virtual Result<RedisValue> Eval(const LuaScript& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) = 0;
  // One EVALSHA per call, pipelined: one round trip per connection (per node in a cluster); calls
  // answered NOSCRIPT are sent again with EVAL. One answer per call, in order; a failed one means
  // its connection failed or timed out (other calls of the pipeline may have run).
  virtual std::vector<Result<RedisValue>> EvalPipelined(const LuaScript& script,
                                                        const std::vector<ScriptCall>& calls) = 0;
  // Several commands pipelined: one round trip per connection (per node in a cluster, each
  // command sent to the node of argv[1]'s slot). One answer per command, in order; a failed one
  // means its connection failed or timed out (other commands of the pipeline may have run).
  virtual std::vector<Result<RedisValue>> CommandPipelined(
      const std::vector<std::vector<std::string>>& argvs) = 0;
  // PING (every primary in a cluster); ok with the slowest round-trip time in *latency_us. Never
  // refused by a circuit breaker: it tells how Redis is, not how the breaker is.
  virtual Status Ping(const Clock& clock, int64_t* latency_us) = 0;
  // The circuit breakers' state (RedisPoolOptions::breaker): a server's own; in a cluster, open
  // if any primary's is, else half-open if any is. Closed without breakers.
  virtual CircuitBreaker::State BreakerState() const = 0;
  // Keys with different shards can never be used in one call: 0 for every key on one server,
  // the hash slot in a cluster.
  virtual int ShardOf(std::string_view key) const = 0;
  // Where it connects, safe to log.
  virtual std::string Describe() const = 0;
};

// rl_redis_stale_retries_total{redis="<label>"} (RedisPoolOptions::stale_retries), registered once
// per label in `metrics`.
Counter& StaleRetriesCounter(MetricsRegistry& metrics, const std::string& label);

struct RedisPoolOptions {
  RedisEndpoint endpoint;
  int timeout_ms = 50;                // connect and per-command timeout
  size_t max_idle = 256;              // idle connections kept for reuse
  Counter* script_reloads = nullptr;  // optional: NOSCRIPT fallbacks taken
  Counter* stale_retries = nullptr;   // optional: calls sent again after a dead pooled connection
  // Optional: the server's circuit breaker (RedisBreaker), which every call but Ping goes
  // through; `clock` must be set with it.
  std::optional<CircuitBreakerOptions> breaker;
  const Clock* clock = nullptr;
  RedisBreakerMetrics breaker_metrics;
};

// A pool of synchronous hiredis connections. Thread-safe: each call borrows one connection,
// so concurrent callers never share one. A connection that saw an I/O error or timeout is
// closed, never reused; the next call reconnects, so recovery after a Redis restart is automatic.
// When a pooled (idle) connection turns out dead (Redis restarted or closed it), every idle
// connection is dropped, and an idempotent call (IsIdempotentCommand, an idempotent LuaScript)
// is sent once more on a fresh connection, with a warn log and `stale_retries`: the first query
// after a Redis restart answers instead of failing. Other calls (a decision's EVALSHA) are never
// sent twice.
class RedisPool final : public RedisClient {
 public:
  explicit RedisPool(RedisPoolOptions options);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  Result<RedisValue> Command(const std::vector<std::string>& argv) override;
  Result<RedisValue> Eval(const LuaScript& script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args) override;
  // All calls on one connection: one round trip.
  std::vector<Result<RedisValue>> EvalPipelined(const LuaScript& script,
                                                const std::vector<ScriptCall>& calls) override;
  // All commands on one connection: one round trip (Pipeline).
  std::vector<Result<RedisValue>> CommandPipelined(
      const std::vector<std::vector<std::string>>& argvs) override;
  Status Ping(const Clock& clock, int64_t* latency_us) override;
  CircuitBreaker::State BreakerState() const override {
    return breaker_ ? breaker_->state() : CircuitBreaker::State::kClosed;
  }
  int ShardOf(std::string_view) const override { return 0; }
  std::string Describe() const override { return options_.endpoint.Describe(); }

  const RedisEndpoint& endpoint() const { return options_.endpoint; }

 private:
  // A connection: an idle one (*reused true) or a new one.
  Result<redisContext*> Acquire(bool* reused);
  Result<RedisValue> CommandOnce(const std::vector<std::string>& argv, Idempotence idempotence);
  void DropIdle();
  void Release(redisContext* context);
  Result<RedisValue> Run(redisContext* context, const std::vector<std::string>& argv);
  Result<std::vector<RedisValue>> RunPipelined(redisContext* context,
                                               const std::vector<std::vector<std::string>>& argvs);
  // Several commands on one connection, one round trip; replies in order, error replies as
  // values of type kError (the breaker reads them before they become failed Results).
  Result<std::vector<RedisValue>> RawPipeline(const std::vector<std::vector<std::string>>& argvs);
  // Borrows a connection for `run`; a failed run closes it. See the class comment for when it runs
  // again. Through the breaker, if there is one, unless `guarded` is false.
  template <typename T>
  Result<T> WithConnection(const std::function<Result<T>(redisContext*)>& run,
                           Idempotence idempotence, bool guarded = true);
  template <typename T>
  Result<T> WithConnectionUnguarded(const std::function<Result<T>(redisContext*)>& run,
                                    Idempotence idempotence);

  const RedisPoolOptions options_;
  std::unique_ptr<RedisBreaker> breaker_;  // null without options_.breaker
  std::mutex mu_;
  std::vector<redisContext*> idle_;
};

}  // namespace rl::common
