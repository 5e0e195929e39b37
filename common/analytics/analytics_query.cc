#include "common/analytics/analytics_query.h"

#include <algorithm>
#include <charconv>

#include "common/analytics/analytics_keys.h"
#include "common/analytics/limiter_ledger.h"
#include "common/analytics/scripts/read_user_lua.h"

namespace rl::analytics {

using common::RedisValue;
using common::Result;
using common::Status;

namespace {

// A counter as Redis returns it; anything unreadable counts as 0.
int64_t ToInt(const RedisValue& v) {
  if (v.type == RedisValue::Type::kInteger) return v.integer;
  int64_t n = 0;
  if (v.type == RedisValue::Type::kString) {
    auto [end, error] = std::from_chars(v.str.data(), v.str.data() + v.str.size(), n);
    if (error != std::errc() || end != v.str.data() + v.str.size()) return 0;
  }
  return n;
}

// Counts (and per-action and per-rule counts) from a hash given as HGETALL's flat array.
Counts ReadCounts(const RedisValue& flat, std::map<std::string, ActionCounts>* by_action,
                  std::map<std::string, std::map<std::string, int64_t>>* by_rule = nullptr) {
  Counts counts;
  for (size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    const std::string& field = flat.elements[i].str;
    const int64_t n = ToInt(flat.elements[i + 1]);
    if (field == "total") {
      counts.total = n;
    } else if (field == "allowed") {
      counts.allowed = n;
    } else if (field == "blocked") {
      counts.blocked = n;
    } else if (field.rfind("o:", 0) == 0) {
      counts.by_outcome[field.substr(2)] = n;
    } else if (by_action && field.rfind("a:", 0) == 0) {
      const size_t colon = field.rfind(':');
      ActionCounts& entry = (*by_action)[field.substr(2, colon - 2)];
      (field.substr(colon + 1) == "allowed" ? entry.allowed : entry.blocked) = n;
    } else if (by_rule && field.rfind("r:", 0) == 0) {
      const size_t colon = field.rfind(':');
      if (colon > 2) (*by_rule)[field.substr(2, colon - 2)][field.substr(colon + 1)] = n;
    }
  }
  return counts;
}

}  // namespace

Result<UserAnalytics> ParseUserAnalytics(const std::string& user_id, const RedisValue& reply) {
  if (reply.type != RedisValue::Type::kArray || reply.elements.size() != 2) {
    return Status::DataError("read_user.lua: unexpected reply");
  }
  UserAnalytics out;
  out.user_id = user_id;
  out.counts = ReadCounts(reply.elements[0], &out.by_action, &out.by_rule);
  const auto& flat = reply.elements[1].elements;
  for (size_t i = 0; i + 2 < flat.size(); i += 3) {
    out.last_minutes.push_back({ToInt(flat[i]), ToInt(flat[i + 1]), ToInt(flat[i + 2])});
  }
  return out;
}

AnalyticsQuery::AnalyticsQuery(common::RedisPool& redis, const common::Clock& clock, int minutes)
    : redis_(redis),
      clock_(clock),
      minutes_(minutes),
      read_user_(kReadUserLua, common::Idempotence::kIdempotent) {}

Result<UserAnalytics> AnalyticsQuery::User(const std::string& user_id) {
  const int64_t first_minute = clock_.NowMs() / 60000 - minutes_ + 1;
  std::vector<std::string> keys = {UserKey(user_id)};
  for (int64_t m = first_minute; m < first_minute + minutes_; ++m) {
    keys.push_back(UserMinuteKey(user_id, m));
  }
  auto reply = redis_.Eval(read_user_, keys, {std::to_string(first_minute)});
  if (!reply.ok()) return reply.status();
  return ParseUserAnalytics(user_id, reply.value());
}

Result<Counts> AnalyticsQuery::Global() {
  auto reply = redis_.Command({"HGETALL", kGlobalKey});
  if (!reply.ok()) return reply.status();
  return ReadCounts(reply.value(), nullptr);
}

Result<std::vector<std::pair<std::string, int64_t>>> AnalyticsQuery::Top(const char* key,
                                                                         int limit) {
  auto reply = redis_.Command({"ZREVRANGE", key, "0", std::to_string(limit - 1), "WITHSCORES"});
  if (!reply.ok()) return reply.status();
  std::vector<std::pair<std::string, int64_t>> top;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    top.emplace_back(reply->elements[i].str, ToInt(reply->elements[i + 1]));
  }
  return top;
}

Result<std::vector<BlockedUser>> AnalyticsQuery::TopBlocked(int limit) {
  auto top = Top(kTopBlockedKey, limit);
  if (!top.ok()) return top.status();
  std::vector<BlockedUser> users;
  for (auto& [user, blocked] : top.value()) users.push_back({std::move(user), blocked});
  return users;
}

Result<std::vector<RuleCount>> AnalyticsQuery::TopRules(int limit) {
  auto top = Top(kTopRulesKey, limit);
  if (!top.ok()) return top.status();
  std::vector<RuleCount> rules;
  for (auto& [rule, blocked] : top.value()) rules.push_back({std::move(rule), blocked});
  return rules;
}

Result<std::vector<SecondCounts>> AnalyticsQuery::Series(int seconds) {
  seconds = std::clamp<int>(seconds, 1, static_cast<int>(kSeriesRetentionSeconds));
  const int64_t last = clock_.NowMs() / 1000 - 1;  // the last whole second
  std::vector<std::vector<std::string>> commands;
  for (int64_t s = last - seconds + 1; s <= last; ++s) {
    commands.push_back({"HGETALL", GlobalSecondKey(s)});
  }
  auto replies = redis_.CommandPipelined(commands);
  std::vector<SecondCounts> out;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) return replies[i].status();
    const RedisValue& flat = replies[i].value();
    SecondCounts c;
    c.second = last - seconds + 1 + static_cast<int64_t>(i);
    for (size_t f = 0; f + 1 < flat.elements.size(); f += 2) {
      c.by_outcome[flat.elements[f].str] = ToInt(flat.elements[f + 1]);
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string LimiterState(const std::string& recorded_state, std::optional<int64_t> record_age_ms,
                         int64_t interval_ms) {
  if (recorded_state == "running" && record_age_ms &&
      *record_age_ms > common::LimiterStaleAfterMs(interval_ms)) {
    return "stale";
  }
  return recorded_state;
}

Result<std::vector<LimiterRecord>> AnalyticsQuery::Limiters() {
  auto ids = redis_.Command({"SRANDMEMBER", kLimitersKey, "1000"});
  if (!ids.ok()) return ids.status();
  const int64_t now_ms = clock_.NowMs();
  std::vector<LimiterRecord> limiters;
  for (const auto& id : ids->elements) {
    auto ledger = redis_.Command({"HMGET", LimiterLedgerKey(id.str), "seen", "max_sequence",
                                  "decided", "recorded_at_ms", "state", "interval_ms"});
    if (!ledger.ok()) return ledger.status();
    if (ledger->elements.size() != 6) return Status::DataError("HMGET: unexpected reply");
    const auto& f = ledger->elements;
    LimiterRecord r;
    r.limiter_id = id.str;
    r.seen = ToInt(f[0]);
    r.max_sequence = ToInt(f[1]);
    // The limiter's record lags its newest events by up to one interval; the workers may have
    // counted beyond it.
    r.decided = std::max(ToInt(f[2]), r.max_sequence);
    r.missing = std::max<int64_t>(0, r.decided - r.seen);
    r.state = f[4].type == RedisValue::Type::kString ? f[4].str : "unknown";
    r.recorded_at_ms = ToInt(f[3]);
    if (r.recorded_at_ms > 0) r.record_age_ms = std::max<int64_t>(0, now_ms - r.recorded_at_ms);
    r.state = LimiterState(r.state, r.record_age_ms, ToInt(f[5]));
    limiters.push_back(std::move(r));
  }
  std::sort(limiters.begin(), limiters.end(), [](const LimiterRecord& a, const LimiterRecord& b) {
    return a.limiter_id < b.limiter_id;
  });
  return limiters;
}

}  // namespace rl::analytics
