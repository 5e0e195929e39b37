#include "analytics_query.h"

#include <algorithm>

#include "analytics_keys.h"
#include "read_user_lua.h"

namespace rl::analytics {

using common::RedisValue;
using common::Result;
using common::Status;
using nlohmann::json;

namespace {

int64_t ToInt(const RedisValue& v) {
  if (v.type == RedisValue::Type::kInteger) return v.integer;
  if (v.type == RedisValue::Type::kString) return std::strtoll(v.str.c_str(), nullptr, 10);
  return 0;
}

// Fills total/allowed/blocked and by_outcome from a hash given as HGETALL's flat array.
void AddCounters(const RedisValue& flat, json& out, json* by_action) {
  out["total"] = 0;
  out["allowed"] = 0;
  out["blocked"] = 0;
  out["by_outcome"] = json::object();
  for (size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    const std::string& field = flat.elements[i].str;
    const int64_t n = ToInt(flat.elements[i + 1]);
    if (field == "total" || field == "allowed" || field == "blocked") {
      out[field] = n;
    } else if (field.rfind("o:", 0) == 0) {
      out["by_outcome"][field.substr(2)] = n;
    } else if (by_action && field.rfind("a:", 0) == 0) {
      size_t colon = field.rfind(':');
      std::string action = field.substr(2, colon - 2);
      std::string verdict = field.substr(colon + 1);
      json& entry = (*by_action)[action];
      if (entry.is_null()) entry = {{"allowed", 0}, {"blocked", 0}};
      entry[verdict] = n;
    }
  }
}

}  // namespace

Result<json> UserAnalyticsJson(const std::string& user_id, const RedisValue& reply) {
  if (reply.is_error()) return Status::Internal("read_user.lua: " + reply.str);
  if (reply.type != RedisValue::Type::kArray || reply.elements.size() != 2) {
    return Status::Internal("read_user.lua: unexpected reply");
  }
  json out = {{"user_id", user_id}};
  json by_action = json::object();
  AddCounters(reply.elements[0], out, &by_action);
  out["by_action"] = by_action;
  json minutes = json::array();
  const auto& flat = reply.elements[1].elements;
  for (size_t i = 0; i + 2 < flat.size(); i += 3) {
    minutes.push_back({{"minute", ToInt(flat[i])},
                       {"allowed", ToInt(flat[i + 1])},
                       {"blocked", ToInt(flat[i + 2])}});
  }
  out["last_minutes"] = minutes;
  return out;
}

AnalyticsQuery::AnalyticsQuery(common::RedisPool& redis, const common::Clock& clock, int minutes)
    : redis_(redis), clock_(clock), minutes_(minutes), read_user_(kReadUserLua) {}

Result<json> AnalyticsQuery::User(const std::string& user_id) {
  const int64_t now_minute = clock_.NowMs() / 60000;
  const std::string user_key = UserKey(user_id);
  auto reply = redis_.Eval(
      read_user_, {user_key},
      {user_key + ":m:", std::to_string(now_minute - minutes_ + 1), std::to_string(minutes_)});
  if (!reply.ok()) return reply.status();
  return UserAnalyticsJson(user_id, reply.value());
}

Result<json> AnalyticsQuery::Global() {
  auto reply = redis_.Command({"HGETALL", kGlobalKey});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return Status::Internal(reply->str);
  json out = json::object();
  AddCounters(reply.value(), out, nullptr);
  return out;
}

Result<json> AnalyticsQuery::TopBlocked(int limit) {
  auto reply =
      redis_.Command({"ZREVRANGE", kTopBlockedKey, "0", std::to_string(limit - 1), "WITHSCORES"});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return Status::Internal(reply->str);
  json users = json::array();
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    users.push_back(
        {{"user_id", reply->elements[i].str}, {"blocked", ToInt(reply->elements[i + 1])}});
  }
  return json{{"by", "blocked"}, {"users", users}};
}

Result<json> AnalyticsQuery::Limiters() {
  auto ids = redis_.Command({"SRANDMEMBER", kLimitersKey, "1000"});
  if (!ids.ok()) return ids.status();
  if (ids->is_error()) return Status::Internal(ids->str);
  const int64_t now_ms = clock_.NowMs();
  json limiters = json::array();
  for (const auto& id : ids->elements) {
    auto ledger = redis_.Command({"HMGET", LimiterLedgerKey(id.str), "seen", "max_sequence",
                                  "decided", "recorded_at_ms", "state"});
    if (!ledger.ok()) return ledger.status();
    if (ledger->elements.size() != 5) return Status::Internal("HMGET: unexpected reply");
    const auto& f = ledger->elements;
    const int64_t seen = ToInt(f[0]);
    const int64_t max_sequence = ToInt(f[1]);
    // The limiter's record lags its newest events by up to one interval; the workers may have
    // counted beyond it.
    const int64_t decided = std::max(ToInt(f[2]), max_sequence);
    const int64_t recorded_at_ms = ToInt(f[3]);
    json entry = {{"limiter_id", id.str},
                  {"decided", decided},
                  {"seen", seen},
                  {"max_sequence", max_sequence},
                  {"missing", std::max<int64_t>(0, decided - seen)},
                  {"state", f[4].type == RedisValue::Type::kString ? f[4].str : "unknown"},
                  {"recorded_at_ms", recorded_at_ms},
                  {"record_age_ms", nullptr}};
    if (recorded_at_ms > 0) entry["record_age_ms"] = std::max<int64_t>(0, now_ms - recorded_at_ms);
    limiters.push_back(std::move(entry));
  }
  std::sort(limiters.begin(), limiters.end(),
            [](const json& a, const json& b) { return a["limiter_id"] < b["limiter_id"]; });
  return json{{"limiters", limiters}};
}

}  // namespace rl::analytics
