#include "limiter/store/async_redis_decision_store.h"

#include <memory>

#include "limiter/store/redis_decision_store.h"
#include "limiter/store/scripts/policy_lua.h"

namespace rl::limiter {

namespace {

// Answers arriving one by one, handed on together once the last has come.
template <typename Answer>
struct Gathered {
  Gathered(size_t n, std::function<void(std::vector<Answer>)> done)
      : answers(n, common::Status::Internal("not answered")), left(n), done(std::move(done)) {}
  void Set(size_t i, Answer answer) {
    answers[i] = std::move(answer);
    if (--left == 0) done(std::move(answers));
  }
  std::vector<Answer> answers;
  size_t left;
  std::function<void(std::vector<Answer>)> done;
};

}  // namespace

AsyncRedisDecisionStore::AsyncRedisDecisionStore(common::AsyncRedis& redis)
    : redis_(redis), script_(kPolicyLua) {}

void AsyncRedisDecisionStore::DecideMany(const std::vector<std::vector<RuleCheck>>& requests,
                                         int64_t deadline_us, std::function<void(Answers)> done) {
  if (requests.empty()) return done({});
  if (requests.size() == 1) {
    const common::ScriptCall call = PolicyScriptCall(requests[0]);
    return redis_.Eval(script_, call.keys, call.args, deadline_us,
                       [done = std::move(done), rules = requests[0].size()](
                           common::Result<common::RedisValue> r) {
                         done({r.ok() ? ParsePolicyReply(r.value(), rules)
                                      : common::Result<StoreAnswer>(r.status())});
                       });
  }
  // Several (a /check/batch): one script call decides them all, each on its own, in order.
  const common::ScriptCall call = PolicyBatchScriptCall(requests);
  redis_.Eval(script_, call.keys, call.args, deadline_us,
              [done = std::move(done), requests](common::Result<common::RedisValue> r) {
                done(ParsePolicyBatchReply(r, requests));
              });
}

void AsyncRedisDecisionStore::LookupApiKeys(const std::string& hash,
                                            const std::vector<std::string>& api_keys,
                                            int64_t deadline_us,
                                            std::function<void(Entries)> done) {
  if (api_keys.empty()) return done({});
  using Entry = common::Result<std::optional<std::string>>;
  auto gathered = std::make_shared<Gathered<Entry>>(api_keys.size(), std::move(done));
  for (size_t i = 0; i < api_keys.size(); ++i) {
    redis_.Command({"HGET", hash, api_keys[i]}, deadline_us,
                   [gathered, i](common::Result<common::RedisValue> r) {
                     if (!r.ok()) return gathered->Set(i, r.status());
                     gathered->Set(i, r->type == common::RedisValue::Type::kString
                                          ? std::optional<std::string>(std::move(r->str))
                                          : std::nullopt);
                   });
  }
}

}  // namespace rl::limiter
