#include "common/redis/async_redis.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/redis/hiredis_reply.h"

namespace rl::common {

namespace {

timeval AfterUs(int64_t us) {
  us = std::max<int64_t>(us, 0);
  return timeval{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

}  // namespace

struct AsyncRedis::Call {
  AsyncRedis* owner = nullptr;
  Callback done;
  event* deadline = nullptr;  // null without a deadline
  bool answered = false;
  bool admitted = false;               // by the breaker: Report follows the answer
  std::vector<std::string> eval_argv;  // an EVALSHA's EVAL, sent on NOSCRIPT
};

AsyncRedis::AsyncRedis(event_base* loop, AsyncRedisOptions options, const Clock& clock)
    : loop_(loop),
      options_(std::move(options)),
      clock_(clock),
      connect_timer_(evtimer_new(loop, &AsyncRedis::OnConnectTimeout, this)),
      backoff_timer_(evtimer_new(loop, &AsyncRedis::OnBackoffOver, this)),
      drop_log_(clock) {}

AsyncRedis::~AsyncRedis() {
  closing_ = true;  // a drop to say nothing of, unless calls were waiting
  Drop(Status::Unavailable("redis: the connection is closing"));
  event_free(connect_timer_);
  event_free(backoff_timer_);
}

std::unique_ptr<AsyncRedis::Call> AsyncRedis::Start(int64_t deadline_us, Callback done) {
  auto call = std::make_unique<Call>();
  call->owner = this;
  call->done = std::move(done);
  if (in_flight_ >= options_.max_in_flight) {  // refused here: nothing for the breaker to learn
    Answer(*call, Status::Unavailable("redis: " + std::to_string(in_flight_) +
                                      " calls in flight on one connection, the most allowed"));
    return nullptr;
  }
  if (options_.breaker) {
    if (Status admitted = options_.breaker->Admit(); !admitted.ok()) {
      Answer(*call, admitted);
      return nullptr;
    }
    call->admitted = true;
  }
  if (deadline_us != 0) {
    call->deadline = evtimer_new(loop_, &AsyncRedis::OnDeadline, call.get());
    const timeval after = AfterUs(deadline_us - clock_.MonotonicUs());
    evtimer_add(call->deadline, &after);
  }
  return call;
}

void AsyncRedis::Command(const std::vector<std::string>& argv, int64_t deadline_us,
                         Callback done) {
  auto call = Start(deadline_us, std::move(done));
  if (call) Send(argv, std::move(call));
}

void AsyncRedis::Eval(const LuaScript& script, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args, int64_t deadline_us, Callback done) {
  auto call = Start(deadline_us, std::move(done));
  if (!call) return;
  call->eval_argv = ScriptCommand("EVAL", script.body(), keys, args);
  Send(ScriptCommand("EVALSHA", script.sha1(), keys, args), std::move(call));
}

void AsyncRedis::Send(const std::vector<std::string>& argv, std::unique_ptr<Call> call) {
  if (state_ == State::kBackingOff) {
    return Answer(*call, Status::Unavailable("redis " + options_.endpoint.Describe() +
                                             ": reconnecting after a failure (" +
                                             drop_reason_.message() + ")"));
  }
  if (state_ == State::kDisconnected) Connect();
  if (context_ == nullptr) {
    return Answer(*call, drop_reason_.ok() ? Status::Unavailable("redis: not connected")
                                           : drop_reason_);
  }
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAsyncCommandArgv(context_, &AsyncRedis::OnReplyThunk, call.get(),
                            static_cast<int>(args.size()), args.data(),
                            lens.data()) != REDIS_OK) {
    return Answer(*call, Status::Unavailable("redis: the connection is closing"));
  }
  if (in_flight_ == 0) progress_us_ = clock_.MonotonicUs();  // waiting for replies from now
  ++in_flight_;
  call.release();  // hiredis holds it until OnReply
}

void AsyncRedis::Connect() {
  const RedisEndpoint& ep = options_.endpoint;
  redisAsyncContext* c = redisAsyncConnect(ep.host.c_str(), ep.port);
  if (c == nullptr || c->err) {
    drop_reason_ = Status::Unavailable("redis connect " + ep.Describe() + ": " +
                                       (c ? c->errstr : "out of memory"));
    if (c) redisAsyncFree(c);
    return BeginBackoff();
  }
  c->data = this;
  redisLibeventAttach(c, loop_);
  redisAsyncSetConnectCallback(c, &AsyncRedis::OnConnected);
  redisAsyncSetDisconnectCallback(c, &AsyncRedis::OnDisconnected);
  context_ = c;
  state_ = State::kConnecting;
  if (ever_connected_ && options_.reconnects) options_.reconnects->Inc();
  const timeval after = AfterUs(int64_t{options_.connect_timeout_ms} * 1000);
  evtimer_add(connect_timer_, &after);
  // First on the connection, before any call: whoever fails here drops it.
  std::vector<std::vector<std::string>> setup;
  if (!ep.password.empty()) {
    setup.push_back(ep.username.empty() ? std::vector<std::string>{"AUTH", ep.password}
                                        : std::vector<std::string>{"AUTH", ep.username,
                                                                   ep.password});
  }
  if (ep.db != 0) setup.push_back({"SELECT", std::to_string(ep.db)});
  for (const auto& argv : setup) {
    auto call = std::make_unique<Call>();
    call->owner = this;
    call->done = [this, verb = argv[0]](Result<RedisValue> reply) {
      if (!reply.ok() && reply.status().code() == Status::Code::kErrorReply) {
        Drop(Status::Unavailable("redis " + verb + " failed: " + reply.status().message()));
      }
    };
    Send(argv, std::move(call));
  }
}

void AsyncRedis::Drop(const Status& why) {
  drop_reason_ = why.code() == Status::Code::kUnavailable
                     ? why
                     : Status::Unavailable("redis " + options_.endpoint.Describe() +
                                           ": connection dropped (" + why.message() + ")");
  redisAsyncContext* c = context_;
  if (c == nullptr) return;
  context_ = nullptr;
  evtimer_del(connect_timer_);
  BeginBackoff();
  uint64_t suppressed = 0;
  if ((!closing_ || in_flight_ > 0) && drop_log_.ShouldLog(&suppressed)) {
    spdlog::warn("redis {}: connection dropped ({}), {} calls on it answered by the fail mode; "
                 "reconnecting in {} ms ({} similar not logged)",
                 options_.endpoint.Describe(), why.message(), in_flight_, backoff_ms_,
                 suppressed);
  }
  // Answers every call still on it (OnReply with no reply), now or, inside a hiredis callback,
  // as soon as that returns.
  redisAsyncFree(c);
}

void AsyncRedis::BeginBackoff() {
  backoff_ms_ = backoff_ms_ == 0 ? options_.reconnect_min_ms
                                 : std::min(backoff_ms_ * 2, options_.reconnect_max_ms);
  state_ = State::kBackingOff;
  const timeval after = AfterUs(int64_t{backoff_ms_} * 1000);
  evtimer_add(backoff_timer_, &after);
}

void AsyncRedis::Answer(Call& call, Result<RedisValue> result) {
  if (call.answered) return;
  call.answered = true;
  if (call.deadline) {
    event_free(call.deadline);
    call.deadline = nullptr;
  }
  if (call.admitted) {
    // As RedisPool reports: a server error reply is a failure, another error reply an answer.
    Status outcome = result.ok() ? Status::Ok() : result.status();
    bool error_reply = false;
    if (outcome.code() == Status::Code::kErrorReply) {
      error_reply = !IsServerErrorReply(outcome.message());
      outcome = error_reply ? Status::Ok() : Status::Unavailable(outcome.message());
    }
    options_.breaker->Report(outcome, error_reply);
  }
  if (result.ok()) backoff_ms_ = 0;  // the server answers: the next failure backs off anew
  Callback done = std::move(call.done);
  if (done) done(std::move(result));
}

void AsyncRedis::OnReply(const redisAsyncContext* context, Call* call, void* reply) {
  std::unique_ptr<Call> owned(call);
  --in_flight_;
  if (reply != nullptr) progress_us_ = clock_.MonotonicUs();
  if (reply == nullptr) {
    // The connection went away: dropped by us (drop_reason_ says why) or by the server.
    return Answer(*owned, context == context_ || drop_reason_.ok()
                              ? Status::Unavailable("redis " + options_.endpoint.Describe() +
                                                    ": connection lost (" + context->errstr + ")")
                              : drop_reason_);
  }
  RedisValue value = FromHiredisReply(static_cast<redisReply*>(reply));
  if (value.type == RedisValue::Type::kError) {
    if (!owned->answered && !owned->eval_argv.empty() && value.str.rfind("NOSCRIPT", 0) == 0) {
      if (options_.script_reloads) options_.script_reloads->Inc();
      std::vector<std::string> argv = std::move(owned->eval_argv);
      owned->eval_argv.clear();
      return Send(argv, std::move(owned));  // NOSCRIPT ran nothing: sent once more, as EVAL
    }
    return Answer(*owned, Status::ErrorReply(std::move(value.str)));
  }
  Answer(*owned, std::move(value));
}

void AsyncRedis::OnReplyThunk(redisAsyncContext* context, void* reply, void* privdata) {
  auto* call = static_cast<Call*>(privdata);
  call->owner->OnReply(context, call, reply);
}

void AsyncRedis::OnConnected(const redisAsyncContext* context, int status) {
  auto* self = static_cast<AsyncRedis*>(context->data);
  if (self->context_ != context) return;  // dropped meanwhile
  evtimer_del(self->connect_timer_);
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback, answering its calls (OnReply, no reply).
    self->context_ = nullptr;
    self->drop_reason_ = Status::Unavailable("redis connect " + self->options_.endpoint.Describe() +
                                             ": " + context->errstr);
    self->BeginBackoff();
    return;
  }
  self->state_ = State::kConnected;
  self->ever_connected_ = true;
}

void AsyncRedis::OnDisconnected(const redisAsyncContext* context, int status) {
  auto* self = static_cast<AsyncRedis*>(context->data);
  if (self->context_ != context) return;  // dropped by us: already backing off
  self->context_ = nullptr;
  self->drop_reason_ = Status::Unavailable(
      "redis " + self->options_.endpoint.Describe() + ": connection lost" +
      (status == REDIS_OK ? std::string() : std::string(": ") + context->errstr));
  self->BeginBackoff();
}

void AsyncRedis::OnDeadline(int, short, void* arg) {
  auto* call = static_cast<Call*>(arg);
  AsyncRedis* self = call->owner;
  const Status timeout = Status::Timeout("redis " + self->options_.endpoint.Describe() +
                                         ": no answer by the request's deadline");
  self->Answer(*call, timeout);  // `call` stays with hiredis until its reply (or the drop)
  // No reply at all for stall_ms: stopped or gone, so no later call may wait behind it. A server
  // that answers, only late for this call, keeps its connection.
  const int64_t silent_us = self->clock_.MonotonicUs() - self->progress_us_;
  if (silent_us >= int64_t{self->options_.stall_ms} * 1000) {
    self->Drop(Status::Timeout("redis " + self->options_.endpoint.Describe() + ": no reply in " +
                               std::to_string(silent_us / 1000) + " ms"));
  }
}

void AsyncRedis::OnConnectTimeout(int, short, void* arg) {
  auto* self = static_cast<AsyncRedis*>(arg);
  self->Drop(Status::Timeout("redis connect " + self->options_.endpoint.Describe() + ": no answer in " +
                             std::to_string(self->options_.connect_timeout_ms) + " ms"));
}

void AsyncRedis::OnBackoffOver(int, short, void* arg) {
  auto* self = static_cast<AsyncRedis*>(arg);
  if (self->state_ == State::kBackingOff) self->state_ = State::kDisconnected;
}

}  // namespace rl::common
