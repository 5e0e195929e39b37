#include "limiter/redis_decision_store.h"

#include <cstdio>

#include "limiter/algorithm/algorithms.h"
#include "limiter/scripts/policy_lua.h"

namespace rl::limiter {

using common::RedisValue;
using common::Result;
using common::Status;

namespace {

// An error reply about the data of this request (a key of the wrong type, a value the script
// cannot read) rather than about the server (OOM, LOADING, BUSY, READONLY, NOAUTH, ...).
bool IsDataError(const std::string& error) {
  return error.rfind("WRONGTYPE", 0) == 0 ||
         (error.rfind("ERR", 0) == 0 && error.find("script") != std::string::npos);
}

}  // namespace

Result<StoreAnswer> ParsePolicyReply(const RedisValue& reply, size_t rules) {
  if (reply.is_error()) {
    return IsDataError(reply.str) ? Status::DataError("redis script error: " + reply.str)
                                  : Status::Internal("redis error: " + reply.str);
  }
  if (reply.type != RedisValue::Type::kArray || reply.elements.size() != 2 + 5 * rules) {
    return Status::DataError("unexpected reply from policy.lua");
  }
  for (const auto& e : reply.elements) {
    if (e.type != RedisValue::Type::kInteger)
      return Status::DataError("unexpected reply from policy.lua");
  }
  StoreAnswer answer;
  answer.now_ms = reply.elements[0].integer;
  answer.answer.refused_by_ban = reply.elements[1].integer == 1;
  for (size_t i = 0; i < rules; ++i) {
    const RedisValue* v = &reply.elements[2 + 5 * i];
    answer.answer.rules.push_back(
        {v[0].integer == 1, v[1].integer, v[2].integer, v[3].integer, v[4].integer});
  }
  return answer;
}

RedisDecisionStore::RedisDecisionStore(common::RedisPool& redis, const common::Clock& clock)
    : redis_(redis), clock_(clock), script_(kPolicyLua) {}

Result<StoreAnswer> RedisDecisionStore::Decide(const std::vector<RuleCheck>& checks) {
  return DecideAt(checks, std::nullopt);
}

common::RedisPool::EvalCall RedisDecisionStore::Call(const std::vector<RuleCheck>& checks,
                                                     std::optional<int64_t> now_us) {
  common::RedisPool::EvalCall call;
  call.keys.reserve(3 * checks.size());
  call.args.reserve(2 + 10 * checks.size());
  call.args.push_back(now_us ? std::to_string(*now_us) : "");
  call.args.push_back(std::to_string(checks.size()));
  for (const RuleCheck& c : checks) {
    call.keys.push_back(c.key);
    call.keys.push_back(c.ban_key);
    call.keys.push_back(c.strike_key);
    char rate[64];
    std::snprintf(rate, sizeof(rate), "%.17g", c.params.RatePerUs());
    call.args.push_back(std::string(AlgorithmName(c.params.algorithm)));
    call.args.push_back(std::to_string(c.params.limit));
    call.args.push_back(std::to_string(c.params.window_ms));
    call.args.push_back(std::to_string(c.params.burst));
    call.args.push_back(rate);
    call.args.push_back(std::to_string(c.cost));
    call.args.push_back(c.shadow ? "1" : "0");
    call.args.push_back(std::to_string(c.penalty.blocks));
    call.args.push_back(std::to_string(c.penalty.within_ms));
    call.args.push_back(std::to_string(c.penalty.ban_ms));
  }
  return call;
}

Result<StoreAnswer> RedisDecisionStore::DecideAt(const std::vector<RuleCheck>& checks,
                                                 std::optional<int64_t> now_us) {
  common::RedisPool::EvalCall call = Call(checks, now_us);
  auto reply = redis_.Eval(script_, call.keys, call.args);
  if (!reply.ok()) return reply.status();
  return ParsePolicyReply(reply.value(), checks.size());
}

std::vector<Result<StoreAnswer>> RedisDecisionStore::DecideMany(
    const std::vector<std::vector<RuleCheck>>& requests) {
  std::vector<common::RedisPool::EvalCall> calls;
  calls.reserve(requests.size());
  for (const auto& checks : requests) calls.push_back(Call(checks, std::nullopt));
  auto replies = redis_.EvalPipelined(script_, calls);
  std::vector<Result<StoreAnswer>> answers;
  answers.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    answers.push_back(replies.ok() ? ParsePolicyReply(replies.value()[i], requests[i].size())
                                   : Result<StoreAnswer>(replies.status()));
  }
  return answers;
}

Status RedisDecisionStore::Ping(int64_t* latency_us) { return redis_.Ping(clock_, latency_us); }

Result<std::optional<std::string>> RedisDecisionStore::LookupApiKey(const std::string& hash,
                                                                    const std::string& api_key) {
  auto reply = redis_.Command({"HGET", hash, api_key});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) {
    return IsDataError(reply->str) ? Status::DataError(reply->str) : Status::Internal(reply->str);
  }
  if (reply->type != RedisValue::Type::kString) return std::optional<std::string>();
  return std::optional<std::string>(reply->str);
}

Result<KeyState> RedisDecisionStore::Inspect(const std::string& key) {
  KeyState state;
  auto type = redis_.Command({"TYPE", key});
  if (!type.ok()) return type.status();
  state.type = type->str;
  if (state.type == "hash") {
    auto all = redis_.Command({"HGETALL", key});
    if (!all.ok()) return all.status();
    for (size_t i = 0; i + 1 < all->elements.size(); i += 2) {
      state.fields[all->elements[i].str] = all->elements[i + 1].str;
    }
  } else if (state.type == "string") {
    auto value = redis_.Command({"GET", key});
    if (!value.ok()) return value.status();
    state.fields["value"] = value->str;
  } else if (state.type == "zset") {
    auto count = redis_.Command({"ZCARD", key});
    if (!count.ok()) return count.status();
    state.fields["entries"] = std::to_string(count->integer);
  }
  auto ttl = redis_.Command({"PTTL", key});
  if (!ttl.ok()) return ttl.status();
  state.ttl_ms = ttl->integer;
  return state;
}

Result<int64_t> RedisDecisionStore::Delete(const std::vector<std::string>& keys) {
  std::vector<std::string> argv = {"DEL"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  auto reply = redis_.Command(argv);
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return Status::Internal(reply->str);
  return reply->integer;
}

}  // namespace rl::limiter
