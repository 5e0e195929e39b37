#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/base/metrics.h"
#include "common/base/settings.h"
#include "common/base/status.h"

struct redisContext;

namespace rl::common {

// A Redis reply, converted once from hiredis so nothing else depends on hiredis types.
struct RedisValue {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisValue> elements;

  bool is_error() const { return type == Type::kError; }
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

// The Redis of the analytics (counters, consumer positions, the limiter ledger):
// ANALYTICS_REDIS_URL, else REDIS_URL, else redis://127.0.0.1:6379. An error names the variable.
Result<RedisEndpoint> AnalyticsRedisEndpoint(const EnvSource& env);

// A Lua script with its SHA1, for EVALSHA with a NOSCRIPT fallback.
class LuaScript {
 public:
  explicit LuaScript(std::string_view body);
  const std::string& body() const { return body_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string body_;
  std::string sha1_;
};

struct RedisPoolOptions {
  RedisEndpoint endpoint;
  int timeout_ms = 50;                // connect and per-command timeout
  size_t max_idle = 256;              // idle connections kept for reuse
  Counter* script_reloads = nullptr;  // optional: NOSCRIPT fallbacks taken
};

// A pool of synchronous hiredis connections. Thread-safe: each call borrows one connection,
// so concurrent callers never share one. A connection that saw an I/O error or timeout is
// closed, never reused; the next call reconnects, so recovery after a Redis restart is automatic.
class RedisPool {
 public:
  explicit RedisPool(RedisPoolOptions options);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs one command. A Redis error reply is a value of type kError, not a failed Result;
  // a failed Result means Redis was unreachable (kUnavailable) or too slow (kTimeout).
  Result<RedisValue> Command(const std::vector<std::string>& argv);

  // EVALSHA, and on NOSCRIPT (after a restart, failover or SCRIPT FLUSH) EVAL once.
  Result<RedisValue> Eval(const LuaScript& script, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args);

  // One EVALSHA per call, pipelined on one connection (one round trip for them all); calls
  // answered NOSCRIPT are sent again, pipelined, with EVAL. Replies in the order of `calls`; as
  // with Command, an error reply is a value. A failed Result: the connection failed or timed out
  // (some calls may have run).
  struct EvalCall {
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };
  Result<std::vector<RedisValue>> EvalPipelined(const LuaScript& script,
                                                const std::vector<EvalCall>& calls);

  // PING; ok with the round-trip time in *latency_us, or why Redis did not answer.
  Status Ping(const Clock& clock, int64_t* latency_us);

  const RedisEndpoint& endpoint() const { return options_.endpoint; }

 private:
  Result<redisContext*> Acquire();
  void Release(redisContext* context);
  Result<RedisValue> Run(redisContext* context, const std::vector<std::string>& argv);
  Result<std::vector<RedisValue>> RunPipelined(redisContext* context,
                                               const std::vector<std::vector<std::string>>& argvs);
  // Borrows a connection for `run`; a failed run closes it.
  template <typename T>
  Result<T> WithConnection(const std::function<Result<T>(redisContext*)>& run);

  const RedisPoolOptions options_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;
};

}  // namespace rl::common
