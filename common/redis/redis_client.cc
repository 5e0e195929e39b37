#include "common/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>

#include "common/base/digest.h"
#include "common/redis/hiredis_reply.h"

namespace rl::common {
namespace {

timeval ToTimeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

// A command's arguments as hiredis takes them (pointers into `argv`, which must outlive it).
struct CArgv {
  explicit CArgv(const std::vector<std::string>& argv) {
    args.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  std::vector<const char*> args;
  std::vector<size_t> lens;
};

bool IsErrorValue(const RedisValue& value) { return value.type == RedisValue::Type::kError; }

// The one channel: an error reply becomes a failed Result (kErrorReply), the reply its message.
Result<RedisValue> Answered(Result<RedisValue> reply) {
  if (reply.ok() && IsErrorValue(reply.value())) return Status::ErrorReply(std::move(reply->str));
  return reply;
}

// One answer per command of a pipeline that ran as a whole (`all`) or failed as a whole.
std::vector<Result<RedisValue>> AnswersOf(Result<std::vector<RedisValue>> all, size_t count) {
  std::vector<Result<RedisValue>> answers;
  answers.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    answers.push_back(all.ok() ? Answered(std::move(all.value()[i]))
                               : Result<RedisValue>(all.status()));
  }
  return answers;
}

Status ContextError(const redisContext* c, const char* what) {
  std::string message = std::string(what) + ": " + c->errstr;
  if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)) {
    return Status::Timeout(message);
  }
  return Status::Unavailable(message);
}

}  // namespace

RedisValue FromHiredisReply(const redisReply* reply) {
  RedisValue v;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::kInteger;
      v.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      v.type = reply->type == REDIS_REPLY_STRING   ? RedisValue::Type::kString
               : reply->type == REDIS_REPLY_STATUS ? RedisValue::Type::kStatus
                                                   : RedisValue::Type::kError;
      v.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      v.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) {
        v.elements.push_back(FromHiredisReply(reply->element[i]));
      }
      break;
    default:
      v.type = RedisValue::Type::kNil;
  }
  return v;
}

std::string RedisEndpoint::Describe() const {
  return host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("expected redis://[[user]:password@]host[:port][/db]");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      endpoint.password = std::string(credentials);
    } else {
      endpoint.username = std::string(credentials.substr(0, colon));
      endpoint.password = std::string(credentials.substr(colon + 1));
    }
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), endpoint.db);
      if (ec != std::errc() || p != db.data() + db.size() || endpoint.db < 0) {
        return Status::InvalidArgument("database must be a non-negative integer");
      }
    }
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
    if (ec != std::errc() || p != port.data() + port.size() || endpoint.port < 1 ||
        endpoint.port > 65535) {
      return Status::InvalidArgument("port must be 1..65535");
    }
  }
  if (rest.empty()) return Status::InvalidArgument("host is missing");
  endpoint.host = std::string(rest);
  return endpoint;
}

std::vector<std::string> ScriptCommand(const char* verb, const std::string& script_or_sha,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back(verb);
  argv.push_back(script_or_sha);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

LuaScript::LuaScript(std::string_view body, Idempotence idempotence)
    : body_(body), sha1_(Sha1Hex(body_)), idempotence_(idempotence) {}

bool IsIdempotentCommand(std::string_view verb) {
  static constexpr std::array<std::string_view, 27> kIdempotent = {
      "PING",  "GET",     "MGET",      "HGET",   "HMGET",    "HGETALL",     "HLEN",
      "ZCARD", "ZRANGE",  "ZREVRANGE", "ZSCORE", "SMEMBERS", "SRANDMEMBER", "SCARD",
      "TYPE",  "PTTL",    "TTL",       "EXISTS", "KEYS",     "SCAN",        "INFO",
      "TIME",  "CLUSTER", "HSET",      "SADD",   "DEL",      "SCRIPT"};
  std::string upper(verb);
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  return std::find(kIdempotent.begin(), kIdempotent.end(), upper) != kIdempotent.end();
}

RedisPool::RedisPool(RedisPoolOptions options) : options_(std::move(options)) {
  if (options_.breaker) {
    breaker_ = std::make_unique<RedisBreaker>(*options_.breaker, *options_.clock,
                                              options_.breaker_metrics,
                                              options_.endpoint.Describe());
  }
}

bool IsServerErrorReply(std::string_view error) {
  constexpr std::string_view kServerErrors[] = {"OOM",        "LOADING",     "BUSY",
                                                "READONLY",   "NOAUTH",      "WRONGPASS",
                                                "MASTERDOWN", "CLUSTERDOWN", "MISCONF",
                                                "NOREPLICAS"};
  for (std::string_view prefix : kServerErrors) {
    if (error.substr(0, prefix.size()) == prefix &&
        (error.size() == prefix.size() || error[prefix.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

namespace {
// How a call that returned `reply` went, for the circuit breaker: a failure if the reply says the
// server cannot serve; *error_reply if it is any other error (the server answered).
Status BreakerOutcome(const RedisValue& reply, bool* error_reply) {
  if (!IsErrorValue(reply)) return Status::Ok();
  if (IsServerErrorReply(reply.str)) return Status::Unavailable(reply.str);
  *error_reply = true;
  return Status::Ok();
}
// The same for a pipeline's replies: a failure if any says so.
Status BreakerOutcome(const std::vector<RedisValue>& replies, bool* error_reply) {
  for (const RedisValue& reply : replies) {
    if (Status s = BreakerOutcome(reply, error_reply); !s.ok()) return s;
  }
  return Status::Ok();
}
}  // namespace

RedisPool::~RedisPool() {
  for (redisContext* c : idle_) redisFree(c);
}

Result<redisContext*> RedisPool::Acquire(bool* reused) {
  {
    std::lock_guard lock(mu_);
    *reused = !idle_.empty();
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      return c;
    }
  }
  const RedisEndpoint& ep = options_.endpoint;
  redisContext* c =
      redisConnectWithTimeout(ep.host.c_str(), ep.port, ToTimeval(options_.timeout_ms));
  if (c == nullptr) return Status::Unavailable("redis connect: out of memory");
  if (c->err) {
    Status s = ContextError(c, "redis connect");
    redisFree(c);
    return s;
  }
  redisSetTimeout(c, ToTimeval(options_.timeout_ms));
  std::vector<std::vector<std::string>> setup;
  if (!ep.password.empty()) {
    setup.push_back(ep.username.empty()
                        ? std::vector<std::string>{"AUTH", ep.password}
                        : std::vector<std::string>{"AUTH", ep.username, ep.password});
  }
  if (ep.db != 0) setup.push_back({"SELECT", std::to_string(ep.db)});
  for (const auto& argv : setup) {
    auto reply = Run(c, argv);
    if (!reply.ok() || IsErrorValue(reply.value())) {
      std::string why = reply.ok() ? reply->str : reply.status().message();
      redisFree(c);
      return Status::Unavailable("redis " + argv[0] + " failed: " + why);
    }
  }
  return c;
}

void RedisPool::Release(redisContext* c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle) {
    idle_.push_back(c);
  } else {
    redisFree(c);
  }
}

Result<RedisValue> RedisPool::Run(redisContext* c, const std::vector<std::string>& argv) {
  CArgv a(argv);
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(a.args.size()), a.args.data(), a.lens.data()));
  if (reply == nullptr) return ContextError(c, "redis command");
  RedisValue value = FromHiredisReply(reply);
  freeReplyObject(reply);
  return value;
}

Result<std::vector<RedisValue>> RedisPool::RunPipelined(
    redisContext* c, const std::vector<std::vector<std::string>>& argvs) {
  for (const auto& argv : argvs) {
    CArgv a(argv);
    if (redisAppendCommandArgv(c, static_cast<int>(a.args.size()), a.args.data(), a.lens.data()) !=
        REDIS_OK) {
      return ContextError(c, "redis pipeline");
    }
  }
  std::vector<RedisValue> values;
  values.reserve(argvs.size());
  for (size_t i = 0; i < argvs.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK || reply == nullptr) {
      return ContextError(c, "redis pipeline");
    }
    values.push_back(FromHiredisReply(static_cast<redisReply*>(reply)));
    freeReplyObject(reply);
  }
  return values;
}

void RedisPool::DropIdle() {
  std::vector<redisContext*> idle;
  {
    std::lock_guard lock(mu_);
    idle.swap(idle_);
  }
  for (redisContext* c : idle) redisFree(c);
}

template <typename T>
Result<T> RedisPool::WithConnection(const std::function<Result<T>(redisContext*)>& run,
                                    Idempotence idempotence, bool guarded) {
  if (!guarded || !breaker_) return WithConnectionUnguarded(run, idempotence);
  if (Status admitted = breaker_->Admit(); !admitted.ok()) return admitted;
  Result<T> result = WithConnectionUnguarded(run, idempotence);
  bool error_reply = false;
  const Status outcome =
      result.ok() ? BreakerOutcome(result.value(), &error_reply) : result.status();
  breaker_->Report(outcome, error_reply);
  return result;
}

template <typename T>
Result<T> RedisPool::WithConnectionUnguarded(const std::function<Result<T>(redisContext*)>& run,
                                             Idempotence idempotence) {
  bool reused = false;
  auto c = Acquire(&reused);
  if (!c.ok()) return c.status();
  Result<T> result = run(c.value());
  if (result.ok()) {
    Release(c.value());
    return result;
  }
  redisFree(c.value());  // unusable after an I/O error or timeout
  // A pooled connection found dead (not slow): Redis restarted or closed it, and so, most likely,
  // every other idle one. A timeout is never sent again: the call may have run.
  if (!reused || result.status().code() != Status::Code::kUnavailable) return result;
  DropIdle();
  if (idempotence != Idempotence::kIdempotent) return result;
  if (options_.stale_retries) options_.stale_retries->Inc();
  spdlog::warn("redis {}: a pooled connection was dead ({}); sending the call again on a new one",
               options_.endpoint.Describe(), result.status().message());
  c = Acquire(&reused);
  if (!c.ok()) return c.status();
  result = run(c.value());
  if (result.ok()) {
    Release(c.value());
  } else {
    redisFree(c.value());
  }
  return result;
}

std::vector<Result<RedisValue>> RedisPool::EvalPipelined(const LuaScript& script,
                                                         const std::vector<ScriptCall>& calls) {
  auto argv_of = [&](const ScriptCall& call, bool by_sha) {
    return by_sha ? ScriptCommand("EVALSHA", script.sha1(), call.keys, call.args)
                  : ScriptCommand("EVAL", script.body(), call.keys, call.args);
  };
  auto all = WithConnection<std::vector<RedisValue>>(
      [&](redisContext* c) -> Result<std::vector<RedisValue>> {
        std::vector<std::vector<std::string>> argvs;
        argvs.reserve(calls.size());
        for (const auto& call : calls) argvs.push_back(argv_of(call, true));
        auto replies = RunPipelined(c, argvs);
        if (!replies.ok()) return replies;
        // NOSCRIPT ran nothing: send those again with the script's body (which also caches it).
        std::vector<size_t> missing;
        for (size_t i = 0; i < replies->size(); ++i) {
          const RedisValue& r = replies.value()[i];
          if (IsErrorValue(r) && r.str.rfind("NOSCRIPT", 0) == 0) missing.push_back(i);
        }
        if (missing.empty()) return replies;
        if (options_.script_reloads) options_.script_reloads->Inc();
        std::vector<std::vector<std::string>> again;
        for (size_t i : missing) again.push_back(argv_of(calls[i], false));
        auto retried = RunPipelined(c, again);
        if (!retried.ok()) return retried;
        for (size_t j = 0; j < missing.size(); ++j) {
          replies.value()[missing[j]] = std::move(retried.value()[j]);
        }
        return replies;
      },
      script.idempotent() ? Idempotence::kIdempotent : Idempotence::kNotIdempotent);
  return AnswersOf(std::move(all), calls.size());
}

Result<std::vector<RedisValue>> RedisPool::RawPipeline(
    const std::vector<std::vector<std::string>>& argvs) {
  const bool idempotent = std::all_of(argvs.begin(), argvs.end(), [](const auto& argv) {
    return !argv.empty() && IsIdempotentCommand(argv[0]);
  });
  return WithConnection<std::vector<RedisValue>>(
      [&](redisContext* c) { return RunPipelined(c, argvs); },
      idempotent ? Idempotence::kIdempotent : Idempotence::kNotIdempotent);
}

std::vector<Result<RedisValue>> RedisPool::CommandPipelined(
    const std::vector<std::vector<std::string>>& argvs) {
  return AnswersOf(RawPipeline(argvs), argvs.size());
}

Result<RedisValue> RedisPool::Command(const std::vector<std::string>& argv) {
  return Answered(CommandOnce(argv, !argv.empty() && IsIdempotentCommand(argv[0])
                                        ? Idempotence::kIdempotent
                                        : Idempotence::kNotIdempotent));
}

Result<RedisValue> RedisPool::CommandOnce(const std::vector<std::string>& argv,
                                          Idempotence idempotence) {
  return WithConnection<RedisValue>([&](redisContext* c) { return Run(c, argv); }, idempotence);
}

Result<RedisValue> RedisPool::Eval(const LuaScript& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args) {
  std::vector<std::string> argv = ScriptCommand("EVALSHA", script.sha1(), keys, args);
  const Idempotence idempotence =
      script.idempotent() ? Idempotence::kIdempotent : Idempotence::kNotIdempotent;
  auto reply = CommandOnce(argv, idempotence);
  if (reply.ok() && IsErrorValue(reply.value()) && reply->str.rfind("NOSCRIPT", 0) == 0) {
    if (options_.script_reloads) options_.script_reloads->Inc();
    argv[0] = "EVAL";
    argv[1] = script.body();  // EVAL also caches the script for the next EVALSHA
    reply = CommandOnce(argv, idempotence);
  }
  return Answered(std::move(reply));
}

Status RedisPool::Ping(const Clock& clock, int64_t* latency_us) {
  int64_t start = clock.MonotonicUs();
  auto reply = WithConnection<RedisValue>(
      [&](redisContext* c) { return Run(c, {"PING"}); }, Idempotence::kIdempotent,
      /*guarded=*/false);
  *latency_us = clock.MonotonicUs() - start;
  if (!reply.ok()) return reply.status();
  return IsErrorValue(reply.value()) ? Status::Unavailable(reply->str) : Status::Ok();
}

Counter& StaleRetriesCounter(MetricsRegistry& metrics, const std::string& label) {
  return metrics.AddCounter("rl_redis_stale_retries_total",
                            "Redis calls sent again on a new connection after a pooled one was "
                            "found dead",
                            {{"redis", label}});
}

}  // namespace rl::common
