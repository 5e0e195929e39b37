#include "limiter/store/redis_decision_store.h"

#include <cstdio>
#include <map>

#include "limiter/core/algorithm/algorithms.h"
#include "limiter/store/scripts/policy_lua.h"
#include "limiter/store/scripts/refund_lua.h"
#include "spdlog/spdlog.h"

namespace rl::limiter {

using common::RedisValue;
using common::Result;
using common::Status;

namespace {

// A rule's refill rate as the scripts take it: every digit a double holds.
std::string RateArg(const LimitParams& params) {
  char rate[64];
  std::snprintf(rate, sizeof(rate), "%.17g", params.RatePerUs());
  return rate;
}

}  // namespace

Result<StoreAnswer> ParsePolicyReply(const RedisValue& reply, size_t rules) {
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

RedisDecisionStore::RedisDecisionStore(common::RedisClient& redis, const common::Clock& clock,
                                       common::Counter* refunds_failed)
    : redis_(redis),
      clock_(clock),
      refunds_failed_(refunds_failed),
      script_(kPolicyLua),
      refund_script_(kRefundLua) {}

Result<StoreAnswer> RedisDecisionStore::Decide(const std::vector<RuleCheck>& checks) {
  return DecideAt(checks, std::nullopt);
}

common::ScriptCall PolicyScriptCall(const std::vector<RuleCheck>& checks,
                                    std::optional<int64_t> now_us) {
  common::ScriptCall call;
  call.keys.reserve(3 * checks.size());
  call.args.reserve(2 + 10 * checks.size());
  call.args.push_back(now_us ? std::to_string(*now_us) : "");
  call.args.push_back(std::to_string(checks.size()));
  for (const RuleCheck& c : checks) {
    call.keys.push_back(c.key);
    call.keys.push_back(c.ban_key);
    call.keys.push_back(c.strike_key);
    call.args.push_back(std::string(AlgorithmName(c.params.algorithm)));
    call.args.push_back(std::to_string(c.params.limit));
    call.args.push_back(std::to_string(c.params.window_ms));
    call.args.push_back(std::to_string(c.params.burst));
    call.args.push_back(RateArg(c.params));
    call.args.push_back(std::to_string(c.cost));
    call.args.push_back(c.shadow ? "1" : c.charge_when_over ? "2" : "0");
    call.args.push_back(std::to_string(c.penalty.blocks));
    call.args.push_back(std::to_string(c.penalty.within_ms));
    call.args.push_back(std::to_string(c.penalty.ban_ms));
  }
  return call;
}

common::ScriptCall PolicyBatchScriptCall(const std::vector<std::vector<RuleCheck>>& requests,
                                         std::optional<int64_t> now_us) {
  common::ScriptCall call;
  size_t rules = 0;
  for (const auto& checks : requests) rules += checks.size();
  call.keys.reserve(3 * rules);
  call.args.reserve(3 + requests.size() + 10 * rules);
  call.args.push_back(now_us ? std::to_string(*now_us) : "");
  call.args.push_back("batch");
  call.args.push_back(std::to_string(requests.size()));
  for (const auto& checks : requests) call.args.push_back(std::to_string(checks.size()));
  for (const auto& checks : requests) {
    common::ScriptCall one = PolicyScriptCall(checks, now_us);
    call.keys.insert(call.keys.end(), std::make_move_iterator(one.keys.begin()),
                     std::make_move_iterator(one.keys.end()));
    call.args.insert(call.args.end(), std::make_move_iterator(one.args.begin() + 2),
                     std::make_move_iterator(one.args.end()));
  }
  return call;
}

std::vector<Result<StoreAnswer>> ParsePolicyBatchReply(
    const Result<RedisValue>& reply, const std::vector<std::vector<RuleCheck>>& requests) {
  std::vector<Result<StoreAnswer>> answers;
  answers.reserve(requests.size());
  size_t expected = 0;
  for (const auto& checks : requests) expected += 2 + 5 * checks.size();
  Status failed = !reply.ok() ? reply.status()
                  : reply->type != RedisValue::Type::kArray || reply->elements.size() != expected
                      ? Status::DataError("unexpected reply from policy.lua (batch)")
                      : Status::Ok();
  if (!failed.ok()) {
    answers.assign(requests.size(), failed);
    return answers;
  }
  size_t at = 0;
  for (const auto& checks : requests) {
    const size_t n = 2 + 5 * checks.size();
    RedisValue one;
    one.type = RedisValue::Type::kArray;
    one.elements.assign(reply->elements.begin() + at, reply->elements.begin() + at + n);
    answers.push_back(ParsePolicyReply(one, checks.size()));
    at += n;
  }
  return answers;
}

bool RedisDecisionStore::OneShard(const std::vector<RuleCheck>& checks) const {
  for (size_t i = 1; i < checks.size(); ++i) {
    if (redis_.ShardOf(checks[i].key) != redis_.ShardOf(checks[0].key)) return false;
  }
  return true;
}

bool RedisDecisionStore::OneShardForAll(const std::vector<std::vector<RuleCheck>>& requests,
                                        const std::vector<size_t>& which) const {
  const int shard = redis_.ShardOf(requests[which[0]][0].key);
  for (size_t i : which) {
    if (redis_.ShardOf(requests[i][0].key) != shard) return false;
  }
  return true;
}

std::vector<std::vector<size_t>> RedisDecisionStore::ShardGroups(
    const std::vector<RuleCheck>& checks) const {
  std::map<int, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < checks.size(); ++i) by_shard[redis_.ShardOf(checks[i].key)].push_back(i);
  std::vector<std::vector<size_t>> groups;
  groups.reserve(by_shard.size());
  for (auto& [shard, indices] : by_shard) groups.push_back(std::move(indices));
  return groups;
}

Result<StoreAnswer> RedisDecisionStore::DecideAt(const std::vector<RuleCheck>& checks,
                                                 std::optional<int64_t> now_us) {
  if (!OneShard(checks)) return DecideAcrossShards(checks, ShardGroups(checks), now_us);
  common::ScriptCall call = PolicyScriptCall(checks, now_us);
  auto reply = redis_.Eval(script_, call.keys, call.args);
  if (!reply.ok()) return reply.status();
  return ParsePolicyReply(reply.value(), checks.size());
}

Result<StoreAnswer> RedisDecisionStore::DecideAcrossShards(
    const std::vector<RuleCheck>& checks, const std::vector<std::vector<size_t>>& groups,
    std::optional<int64_t> now_us) {
  StoreAnswer combined;
  combined.answer.rules.resize(checks.size());
  std::vector<std::pair<const std::vector<size_t>*, StoreAnswer>> charged;
  bool refused = false;
  for (const auto& group : groups) {
    std::vector<RuleCheck> part;
    part.reserve(group.size());
    for (size_t i : group) part.push_back(checks[i]);
    common::ScriptCall call = PolicyScriptCall(part, now_us);
    auto reply = redis_.Eval(script_, call.keys, call.args);
    Result<StoreAnswer> answer = reply.ok() ? ParsePolicyReply(reply.value(), part.size())
                                            : Result<StoreAnswer>(reply.status());
    if (!answer.ok()) {
      // Undecided: give back what earlier slots took; the caller applies the fail mode.
      for (const auto& [charged_group, charge] : charged) Refund(checks, *charged_group, charge);
      return answer.status();
    }
    combined.now_ms = std::max(combined.now_ms, answer->now_ms);
    combined.answer.refused_by_ban =
        combined.answer.refused_by_ban || answer->answer.refused_by_ban;
    bool admitted = !answer->answer.refused_by_ban;
    for (size_t j = 0; j < group.size(); ++j) {
      combined.answer.rules[group[j]] = answer->answer.rules[j];
      if (!answer->answer.rules[j].allowed && !checks[group[j]].shadow) admitted = false;
    }
    if (admitted) {
      charged.emplace_back(&group, std::move(answer.value()));
    } else {
      refused = true;
    }
  }
  if (refused) {
    for (const auto& [group, charge] : charged) Refund(checks, *group, charge);
  }
  return combined;
}

void RedisDecisionStore::Refund(const std::vector<RuleCheck>& checks,
                                const std::vector<size_t>& group, const StoreAnswer& charged) {
  common::ScriptCall call;
  call.args.push_back(std::to_string(charged.now_ms));
  for (size_t j = 0; j < group.size(); ++j) {
    const RuleCheck& c = checks[group[j]];
    if (!charged.answer.rules[j].allowed) continue;  // policy.lua charged only admitted rules
    call.keys.push_back(c.key);
    call.args.push_back(std::string(AlgorithmName(c.params.algorithm)));
    call.args.push_back(std::to_string(c.params.window_ms));
    call.args.push_back(std::to_string(c.params.burst));
    call.args.push_back(RateArg(c.params));
    call.args.push_back(std::to_string(c.cost));
  }
  if (call.keys.empty()) return;
  auto reply = redis_.Eval(refund_script_, call.keys, call.args);
  if (reply.ok()) return;
  if (refunds_failed_) refunds_failed_->Inc();
  spdlog::warn("cross-slot refund of {} not taken (the charge stays until it expires): {}",
               call.keys.front(), reply.status().message());
}

std::vector<Result<StoreAnswer>> RedisDecisionStore::DecideMany(
    const std::vector<std::vector<RuleCheck>>& requests) {
  std::vector<Result<StoreAnswer>> answers(requests.size(),
                                           common::Status::Internal("not decided"));
  std::vector<common::ScriptCall> calls;
  std::vector<size_t> pipelined;  // requests in one shard: one pipeline (per node)
  calls.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!OneShard(requests[i])) {
      answers[i] = Decide(requests[i]);
    } else {
      calls.push_back(PolicyScriptCall(requests[i]));
      pipelined.push_back(i);
    }
  }
  if (calls.empty()) return answers;
  if (pipelined.size() > 1 && OneShardForAll(requests, pipelined)) {
    // One script call decides them all, each on its own, in order (always on one server).
    std::vector<std::vector<RuleCheck>> batch;
    batch.reserve(pipelined.size());
    for (size_t i : pipelined) batch.push_back(requests[i]);
    const common::ScriptCall call = PolicyBatchScriptCall(batch);
    auto decided = ParsePolicyBatchReply(redis_.Eval(script_, call.keys, call.args), batch);
    for (size_t j = 0; j < pipelined.size(); ++j) answers[pipelined[j]] = std::move(decided[j]);
    return answers;
  }
  auto replies = redis_.EvalPipelined(script_, calls);
  for (size_t j = 0; j < pipelined.size(); ++j) {
    const size_t i = pipelined[j];
    answers[i] = replies[j].ok() ? ParsePolicyReply(replies[j].value(), requests[i].size())
                                 : Result<StoreAnswer>(replies[j].status());
  }
  return answers;
}

Status RedisDecisionStore::Ping(int64_t* latency_us) { return redis_.Ping(clock_, latency_us); }

std::vector<Result<std::optional<std::string>>> RedisDecisionStore::LookupApiKeys(
    const std::string& hash, const std::vector<std::string>& api_keys) {
  std::vector<std::vector<std::string>> argvs;
  argvs.reserve(api_keys.size());
  for (const std::string& key : api_keys) argvs.push_back({"HGET", hash, key});
  std::vector<Result<RedisValue>> replies = redis_.CommandPipelined(argvs);
  std::vector<Result<std::optional<std::string>>> entries;
  entries.reserve(replies.size());
  for (auto& reply : replies) {
    if (!reply.ok()) {
      entries.push_back(reply.status());
    } else if (reply->type != RedisValue::Type::kString) {
      entries.push_back(std::optional<std::string>());
    } else {
      entries.push_back(std::optional<std::string>(std::move(reply->str)));
    }
  }
  return entries;
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
  std::map<int, std::vector<std::string>> by_shard;  // one DEL per shard: a cluster refuses more
  for (const auto& key : keys) by_shard[redis_.ShardOf(key)].push_back(key);
  int64_t deleted = 0;
  for (const auto& [shard, shard_keys] : by_shard) {
    std::vector<std::string> argv = {"DEL"};
    argv.insert(argv.end(), shard_keys.begin(), shard_keys.end());
    auto reply = redis_.Command(argv);
    if (!reply.ok()) return reply.status();
    deleted += reply->integer;
  }
  return deleted;
}

}  // namespace rl::limiter
