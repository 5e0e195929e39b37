#include "limiter/algorithm/rules_model.h"

#include <algorithm>

namespace rl::limiter {

RulesAnswer DecideRules(ModelStore& store, int64_t now_us, const std::vector<RuleCheck>& checks) {
  RulesAnswer out;
  std::vector<RuleAnswer>& answers = out.rules;
  answers.resize(checks.size());

  std::vector<AlgorithmDecision> decisions;
  bool blocked = false;
  for (const RuleCheck& c : checks) {
    std::optional<AlgorithmState> prior;
    if (auto it = store.states.find(c.key); it != store.states.end()) prior = it->second;
    decisions.push_back(Decide(prior, now_us, c.params, c.cost));
    if (!decisions.back().allowed && !c.shadow) blocked = true;
  }

  // A ban refuses the request and charges nothing; its answer says when the request would be
  // admitted: once the ban has ended and every rule allows it.
  std::vector<int64_t> ban_left_ms(checks.size(), 0);
  for (size_t i = 0; i < checks.size(); ++i) {
    const RuleCheck& c = checks[i];
    if (c.penalty.blocks == 0 || c.shadow) continue;
    auto ban = store.ban_until_us.find(c.ban_key);
    if (ban != store.ban_until_us.end() && ban->second > now_us) {
      ban_left_ms[i] = (ban->second - now_us + 999) / 1000;
      out.refused_by_ban = true;
    }
  }
  if (out.refused_by_ban) {
    for (size_t i = 0; i < checks.size(); ++i) {
      const AlgorithmDecision& d = decisions[i];
      RuleAnswer& a = answers[i];
      a.banned_ms = ban_left_ms[i];
      if (a.banned_ms > 0) {
        a.reset_ms = std::max(d.reset_ms, a.banned_ms);
        a.retry_after_ms = std::max(d.retry_after_ms, a.banned_ms);
      } else {
        a.allowed = d.allowed;
        a.remaining = d.remaining;
        a.reset_ms = d.reset_ms;
        a.retry_after_ms = d.retry_after_ms;
      }
    }
    return out;
  }

  for (size_t i = 0; i < checks.size(); ++i) {
    const RuleCheck& c = checks[i];
    const AlgorithmDecision& d = decisions[i];
    if (!blocked) {
      if (d.allowed) store.states[c.key] = d.state;
    } else if (!d.allowed && !c.shadow && c.penalty.blocks > 0) {
      auto& [count, expiry] = store.strikes[c.strike_key];
      if (expiry <= now_us) count = 0;
      if (++count == 1) expiry = now_us + c.penalty.within_ms * 1000;
      if (count >= c.penalty.blocks) {
        store.ban_until_us[c.ban_key] = now_us + c.penalty.ban_ms * 1000;
        store.strikes.erase(c.strike_key);
        answers[i].banned_ms = c.penalty.ban_ms;
      }
    }
    answers[i].allowed = d.allowed;
    answers[i].remaining = d.remaining;
    answers[i].reset_ms = d.reset_ms;
    answers[i].retry_after_ms = d.retry_after_ms;
  }
  return out;
}

}  // namespace rl::limiter
