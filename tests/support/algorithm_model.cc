#include "tests/support/algorithm_model.h"

#include <algorithm>
#include <cmath>

namespace rl::limiter {
namespace {

int64_t CeilMs(double us) { return static_cast<int64_t>(std::ceil(us / 1000.0)); }

AlgorithmDecision TokenBucket(const std::optional<AlgorithmState>& prior, int64_t now,
                              const LimitParams& p, int64_t cost) {
  const double capacity = static_cast<double>(p.burst);
  const double rate = p.RatePerUs();
  AlgorithmState s;
  s.level = capacity;
  s.updated_us = now;
  if (prior) {
    s = *prior;
    if (now > s.updated_us) {
      s.level = std::min(capacity, s.level + static_cast<double>(now - s.updated_us) * rate);
      s.updated_us = now;
    }
  }
  AlgorithmDecision d;
  d.allowed = s.level >= static_cast<double>(cost);
  if (d.allowed) {
    s.level = s.level - static_cast<double>(cost);
  } else {
    d.retry_after_ms = CeilMs((static_cast<double>(cost) - s.level) / rate);
  }
  d.remaining = static_cast<int64_t>(std::floor(s.level));
  d.reset_ms = CeilMs((capacity - s.level) / rate);
  d.state = s;
  return d;
}

AlgorithmDecision LeakyBucket(const std::optional<AlgorithmState>& prior, int64_t now,
                              const LimitParams& p, int64_t cost) {
  const double capacity = static_cast<double>(p.burst);
  const double rate = p.RatePerUs();
  AlgorithmState s;
  s.level = 0;
  s.updated_us = now;
  if (prior) {
    s = *prior;
    if (now > s.updated_us) {
      s.level = std::max(0.0, s.level - static_cast<double>(now - s.updated_us) * rate);
      s.updated_us = now;
    }
  }
  AlgorithmDecision d;
  d.allowed = s.level + static_cast<double>(cost) <= capacity;
  if (d.allowed) {
    s.level = s.level + static_cast<double>(cost);
  } else {
    d.retry_after_ms = CeilMs((s.level + static_cast<double>(cost) - capacity) / rate);
  }
  d.remaining = static_cast<int64_t>(std::floor(capacity - s.level));
  d.reset_ms = CeilMs(s.level / rate);
  d.state = s;
  return d;
}

AlgorithmDecision Gcra(const std::optional<AlgorithmState>& prior, int64_t now,
                       const LimitParams& p, int64_t cost) {
  const double interval = 1.0 / p.RatePerUs();  // µs per request
  const double capacity = interval * static_cast<double>(p.burst);
  const double nowd = static_cast<double>(now);
  const double tat = prior ? std::max(prior->level, nowd) : nowd;
  const double new_tat = tat + interval * static_cast<double>(cost);
  AlgorithmDecision d;
  d.allowed = new_tat - nowd <= capacity;
  const double held = d.allowed ? new_tat : tat;  // the TAT after this decision
  if (!d.allowed) d.retry_after_ms = CeilMs(new_tat - nowd - capacity);
  d.remaining = static_cast<int64_t>(std::floor((capacity - (held - nowd)) / interval));
  d.reset_ms = CeilMs(held - nowd);
  d.state.level = held;
  return d;
}

AlgorithmDecision FixedWindow(const std::optional<AlgorithmState>& prior, int64_t now,
                              const LimitParams& p, int64_t cost) {
  const int64_t window_us = p.window_ms * 1000;
  AlgorithmState s;
  s.window = now / window_us;
  if (prior && prior->window == s.window) s.count = prior->count;
  const int64_t window_end = (s.window + 1) * window_us;
  AlgorithmDecision d;
  d.allowed = s.count + cost <= p.limit;
  if (d.allowed) {
    s.count += cost;
  } else {
    d.retry_after_ms = CeilMs(static_cast<double>(window_end - now));
  }
  d.remaining = p.limit - s.count;
  d.reset_ms = s.count > 0 ? CeilMs(static_cast<double>(window_end - now)) : 0;
  d.state = s;
  return d;
}

AlgorithmDecision SlidingWindowCounter(const std::optional<AlgorithmState>& prior, int64_t now,
                                       const LimitParams& p, int64_t cost) {
  const int64_t window_us = p.window_ms * 1000;
  AlgorithmState s;
  s.window = now / window_us;
  if (prior) {
    if (prior->window == s.window) {
      s.count = prior->count;
      s.previous = prior->previous;
    } else if (prior->window == s.window - 1) {
      s.previous = prior->count;
    }
  }
  const int64_t elapsed = now - s.window * window_us;
  const double weight = 1.0 - static_cast<double>(elapsed) / static_cast<double>(window_us);
  const double estimate = static_cast<double>(s.previous) * weight + static_cast<double>(s.count);
  AlgorithmDecision d;
  d.allowed = estimate + static_cast<double>(cost) <= static_cast<double>(p.limit);
  double after = estimate;
  if (d.allowed) {
    s.count += cost;
    after = estimate + static_cast<double>(cost);
  } else if (s.previous > 0 && s.count + cost <= p.limit) {
    // The previous window's weight falls until the estimate leaves room for `cost`.
    const double room = static_cast<double>(p.limit - s.count - cost);
    const double wait =
        static_cast<double>(window_us) * (1.0 - room / static_cast<double>(s.previous)) -
        static_cast<double>(elapsed);
    d.retry_after_ms = CeilMs(wait);
  } else {
    // Only in the next window, where this window's count weighs as the previous one.
    double into_next = 0;
    if (s.count > 0) {
      into_next = std::max(
          0.0, static_cast<double>(window_us) *
                   (1.0 - static_cast<double>(p.limit - cost) / static_cast<double>(s.count)));
    }
    d.retry_after_ms = CeilMs(static_cast<double>(window_us - elapsed) + into_next);
  }
  d.remaining =
      std::max<int64_t>(0, static_cast<int64_t>(std::floor(static_cast<double>(p.limit) - after)));
  d.reset_ms = s.count > 0      ? CeilMs(static_cast<double>(2 * window_us - elapsed))
               : s.previous > 0 ? CeilMs(static_cast<double>(window_us - elapsed))
                                : 0;
  d.state = s;
  return d;
}

AlgorithmDecision SlidingWindowLog(const std::optional<AlgorithmState>& prior, int64_t now,
                                   const LimitParams& p, int64_t cost) {
  const int64_t window_us = p.window_ms * 1000;
  AlgorithmState s;
  if (prior) s.log = prior->log;
  while (!s.log.empty() && s.log.front() <= now - window_us) s.log.pop_front();
  const int64_t used = static_cast<int64_t>(s.log.size());
  AlgorithmDecision d;
  d.allowed = used + cost <= p.limit;
  if (d.allowed) {
    for (int64_t i = 0; i < cost; ++i) s.log.push_back(now);
  } else {
    // Wait until enough of the oldest entries leave the window (a cost above the limit: a window).
    const int64_t must_leave = used + cost - p.limit;
    d.retry_after_ms = must_leave > used
                           ? p.window_ms
                           : CeilMs(static_cast<double>(s.log[must_leave - 1] + window_us - now));
  }
  d.remaining = p.limit - static_cast<int64_t>(s.log.size());
  d.reset_ms = s.log.empty() ? 0 : CeilMs(static_cast<double>(s.log.back() + window_us - now));
  d.state = s;
  return d;
}

}  // namespace

namespace {

// Decides by the algorithm's formulas alone.
AlgorithmDecision Evaluate(const std::optional<AlgorithmState>& prior, int64_t now_us,
                           const LimitParams& p, int64_t cost) {
  switch (p.algorithm) {
    case Algorithm::kTokenBucket:
      return TokenBucket(prior, now_us, p, cost);
    case Algorithm::kLeakyBucket:
      return LeakyBucket(prior, now_us, p, cost);
    case Algorithm::kGcra:
      return Gcra(prior, now_us, p, cost);
    case Algorithm::kFixedWindow:
      return FixedWindow(prior, now_us, p, cost);
    case Algorithm::kSlidingWindowCounter:
      return SlidingWindowCounter(prior, now_us, p, cost);
    case Algorithm::kSlidingWindowLog:
      return SlidingWindowLog(prior, now_us, p, cost);
  }
  return {};
}

// True for the algorithms that compute in integers: their retry formula is exact.
bool IsExact(Algorithm a) {
  return a == Algorithm::kFixedWindow || a == Algorithm::kSlidingWindowLog;
}

// The earliest whole millisecond from `now_us` at which Evaluate admits `cost` on `prior`,
// starting from the formula's `guess` (right to within rounding).
int64_t EarliestRetryMs(const std::optional<AlgorithmState>& prior, int64_t now_us,
                        const LimitParams& p, int64_t cost, int64_t guess) {
  int64_t retry = std::max<int64_t>(1, guess);
  for (int i = 0; i < 4; ++i) {
    if (Evaluate(prior, now_us + retry * 1000, p, cost).allowed) break;
    ++retry;
  }
  for (int i = 0; i < 4; ++i) {
    if (retry <= 1 || !Evaluate(prior, now_us + (retry - 1) * 1000, p, cost).allowed) break;
    --retry;
  }
  return retry;
}

}  // namespace

AlgorithmDecision Decide(const std::optional<AlgorithmState>& prior, int64_t now_us,
                         const LimitParams& p, int64_t cost) {
  AlgorithmDecision d = Evaluate(prior, now_us, p, cost);
  if (!d.allowed && !IsExact(p.algorithm)) {
    d.retry_after_ms = EarliestRetryMs(prior, now_us, p, cost, d.retry_after_ms);
  }
  return d;
}

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
