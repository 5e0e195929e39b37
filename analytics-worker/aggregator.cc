#include "analytics-worker/aggregator.h"

#include <algorithm>
#include <climits>
#include <map>
#include <optional>
#include <tuple>

#include "common/analytics/analytics_keys.h"
#include "proto-events/event_codec.h"

namespace rl::analytics {

std::optional<int64_t> EventSequence(const events::v1::Decision& d) {
  if (d.sequence() > 0 && d.sequence() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(d.sequence());
  }
  // An event from before the field: "<limiter id>-<sequence>".
  const std::string& id = d.event_id();
  const std::string prefix = d.limiter_id() + "-";
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  int64_t seq = 0;
  for (size_t i = prefix.size(); i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9' || seq > (INT64_MAX - 9) / 10) return std::nullopt;
    seq = seq * 10 + (id[i] - '0');
  }
  return seq;
}

std::vector<AnalyticsOp> AggregateDecisions(const std::vector<events::v1::Decision>& decisions,
                                            int64_t retention_minutes) {
  using Kind = AnalyticsOp::Kind;
  std::map<std::tuple<Kind, std::string, std::string>, int64_t> sums;
  std::map<std::string, int64_t> expiries;
  std::map<std::string, int64_t> max_sequence;  // limiter key -> highest sequence in the batch
  auto add = [&sums](Kind kind, const std::string& key, const std::string& field, int64_t n) {
    sums[{kind, key, field}] += n;
  };
  for (const auto& d : decisions) {
    // Admitted or not by the one definition (an event without an outcome: by its own flag).
    const bool admitted = d.outcome() == events::v1::OUTCOME_UNSPECIFIED
                              ? d.allowed()
                              : events::OutcomeAdmits(d.outcome());
    const std::string verdict = admitted ? "allowed" : "blocked";
    const std::string outcome = "o:" + std::string(events::OutcomeName(d.outcome()));
    const std::string user = UserKey(d.user_id());
    add(Kind::kHashIncrBy, user, "total", 1);
    add(Kind::kHashIncrBy, user, verdict, 1);
    add(Kind::kHashIncrBy, user, outcome, 1);
    add(Kind::kHashIncrBy, user, "a:" + d.action() + ":" + verdict, 1);
    const int64_t minute = d.ts_ms() / 60000;
    const std::string minute_key = UserMinuteKey(d.user_id(), minute);
    add(Kind::kHashIncrBy, minute_key, verdict, 1);
    expiries[minute_key] = (minute + 1 + retention_minutes) * 60;
    add(Kind::kHashIncrBy, kGlobalKey, "total", 1);
    add(Kind::kHashIncrBy, kGlobalKey, verdict, 1);
    add(Kind::kHashIncrBy, kGlobalKey, outcome, 1);
    if (!admitted) add(Kind::kSortedSetIncrBy, kTopBlockedKey, d.user_id(), 1);
    // Which rules refused (or would have, in shadow mode), per user and overall.
    const bool refused_by_rule = !admitted || d.outcome() == events::v1::OUTCOME_SHADOW_BLOCKED;
    if (refused_by_rule && !d.rule().empty()) {
      add(Kind::kHashIncrBy, user, "r:" + d.rule() + ":" + outcome.substr(2), 1);
      // The top rules: rules that enforced a limit (blocked, banned). A deny list or a fail mode
      // is not a rule, and a shadow rule enforced nothing.
      if (d.outcome() == events::v1::OUTCOME_BLOCKED || d.outcome() == events::v1::OUTCOME_BANNED) {
        add(Kind::kSortedSetIncrBy, kTopRulesKey, d.rule(), 1);
      }
    }
    // The live series: answers per second of event time, by outcome.
    const int64_t second = d.ts_ms() / 1000;
    const std::string second_key = GlobalSecondKey(second);
    add(Kind::kHashIncrBy, second_key, outcome.substr(2), 1);
    expiries[second_key] = second + 1 + kSeriesRetentionSeconds;
    if (auto seq = EventSequence(d); seq && !d.limiter_id().empty()) {
      const std::string limiter = LimiterLedgerKey(d.limiter_id());
      add(Kind::kHashIncrBy, limiter, "seen", 1);
      int64_t& highest = max_sequence[limiter];
      highest = std::max(highest, *seq);
      add(Kind::kSetAdd, kLimitersKey, d.limiter_id(), 0);
    }
  }
  std::vector<AnalyticsOp> ops;
  ops.reserve(sums.size() + expiries.size());
  for (const auto& [k, n] : sums)
    ops.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
  for (const auto& [key, at] : expiries) ops.push_back({Kind::kExpireAt, key, "", at});
  for (const auto& [key, seq] : max_sequence)
    ops.push_back({Kind::kHashMax, key, "max_sequence", seq});
  return ops;
}

}  // namespace rl::analytics
