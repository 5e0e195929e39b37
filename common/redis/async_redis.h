#pragma once
// One Redis server asked without waiting, from one libevent loop (the event-driven decision path,
// issue 22): hiredis's asynchronous API on the loop, so every call made during one turn of the
// loop goes out in one write and each reply is matched to its call in order (pipelining across
// requests, with no window timer).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/base/status.h"
#include "common/redis/redis_breaker.h"
#include "common/redis/redis_client.h"

struct event_base;
struct event;
struct redisAsyncContext;

namespace rl::common {

struct AsyncRedisOptions {
  RedisEndpoint endpoint;
  int connect_timeout_ms = 50;   // REDIS_TIMEOUT_MS: a connection not made by then is given up
  int stall_ms = 50;             // REDIS_TIMEOUT_MS: no reply this long, calls waiting: given up
  size_t max_in_flight = 4096;   // calls sent and not answered; more are refused at once
  int reconnect_min_ms = 10;     // after a failure, the first reconnect waits this long,
  int reconnect_max_ms = 1000;   // doubling per failure up to this
  Counter* script_reloads = nullptr;  // optional: NOSCRIPT answered by resending as EVAL
  Counter* reconnects = nullptr;      // optional: connections dropped and made again
  RedisBreaker* breaker = nullptr;    // optional: the server's breaker (shared by every loop)
};

// One connection to one server, owned by one loop: every method must be called on the loop's
// thread, and every callback is called there, exactly once. Error replies are failed Results of
// code kErrorReply, as RedisClient answers them.
//
// A call is answered by its deadline (Clock::MonotonicUs(); 0: none) at the latest: a Timeout,
// and it is never sent again (it may have run); its reply, when it comes, is read and dropped. A
// call late behind a busy server costs only itself: the connection is kept while replies keep
// coming. When it has given no reply for `stall_ms` with calls waiting, the server is stopped or
// gone: the connection is dropped and every other call on it answered Unavailable. The next call
// after a drop reconnects, after a backoff (reconnect_min_ms doubling to reconnect_max_ms) during
// which calls are refused at once. AUTH and SELECT go first on every new connection.
class AsyncRedis {
 public:
  using Callback = std::function<void(Result<RedisValue>)>;

  AsyncRedis(event_base* loop, AsyncRedisOptions options, const Clock& clock);
  // Answers every waiting call Unavailable.
  ~AsyncRedis();
  AsyncRedis(const AsyncRedis&) = delete;
  AsyncRedis& operator=(const AsyncRedis&) = delete;

  void Command(const std::vector<std::string>& argv, int64_t deadline_us, Callback done);
  // EVALSHA; answered NOSCRIPT (after a restart, failover or SCRIPT FLUSH), sent once more as
  // EVAL, which runs nothing twice: NOSCRIPT ran nothing.
  void Eval(const LuaScript& script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args, int64_t deadline_us, Callback done);

  // Calls sent and not answered yet.
  size_t in_flight() const { return in_flight_; }
  bool connected() const { return state_ == State::kConnected; }
  const RedisEndpoint& endpoint() const { return options_.endpoint; }

 private:
  struct Call;
  enum class State { kDisconnected, kConnecting, kConnected, kBackingOff };

  // A new call answered by `done`, with its deadline timer, or null if it was refused at once
  // (then `done` has been called).
  std::unique_ptr<Call> Start(int64_t deadline_us, Callback done);
  // Sends `argv` for `call` on the connection (connecting first if there is none).
  void Send(const std::vector<std::string>& argv, std::unique_ptr<Call> call);
  void Connect();
  // Drops the connection: every call on it is answered with `why`; reconnecting waits a backoff.
  void Drop(const Status& why);
  void BeginBackoff();
  void Answer(Call& call, Result<RedisValue> result);
  // The reply to `call` (null: the connection went away first). Frees `call` unless it is sent
  // again.
  void OnReply(const redisAsyncContext* context, Call* call, void* reply);

  static void OnConnected(const redisAsyncContext* context, int status);
  static void OnDisconnected(const redisAsyncContext* context, int status);
  static void OnReplyThunk(redisAsyncContext* context, void* reply, void* privdata);
  static void OnDeadline(int fd, short what, void* arg);
  static void OnConnectTimeout(int fd, short what, void* arg);
  static void OnBackoffOver(int fd, short what, void* arg);

  event_base* const loop_;
  const AsyncRedisOptions options_;
  const Clock& clock_;
  redisAsyncContext* context_ = nullptr;
  State state_ = State::kDisconnected;
  size_t in_flight_ = 0;
  int64_t progress_us_ = 0;  // the last reply, or the first call sent while none was waiting
  int backoff_ms_ = 0;
  event* connect_timer_ = nullptr;
  event* backoff_timer_ = nullptr;
  Status drop_reason_;  // what the calls of a dropped connection are answered
  bool ever_connected_ = false;
  bool closing_ = false;  // the destructor runs
  LogThrottle drop_log_;
};

}  // namespace rl::common
