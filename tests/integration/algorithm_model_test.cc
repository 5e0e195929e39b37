// Every algorithm of limiter/store/scripts/policy.lua, in a real Redis with a controlled clock (the
// script's `now` argument), against exact models written here independently of the limiter's
// own C++ models: integer arithmetic only, so every answer is the true one. Random sequences of
// (time step, cost) compare every decision, `remaining`, `reset_ms` and `retry_after_ms`, and
// every blocked answer's promise is checked in Redis itself: a copy of the state retried at
// exactly `retry_after_ms` is admitted, and one millisecond earlier is not.
//
// The script works in floating point. Where the true answer sits exactly on a boundary (less
// than a microsecond of refill from it), either answer is accepted and the model follows the
// script; rounded values may then differ by one in the direction rounding allows.
#include "tests/support/algorithm_model.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <iostream>
#include <optional>
#include <random>

#include "common/base/clock.h"
#include "limiter/core/algorithm/algorithms.h"
#include "limiter/core/keys.h"
#include "limiter/core/policy.h"
#include "limiter/store/redis_decision_store.h"
#include "limiter/store/scripts/policy_lua.h"
#include "tests/support/support.h"

namespace rl::testing {
namespace {

using limiter::Algorithm;
using limiter::LimitParams;
using i128 = __int128;

int64_t CeilDiv(i128 a, i128 b) {  // b > 0
  return static_cast<int64_t>(a >= 0 ? (a + b - 1) / b : -((-a) / b));
}
int64_t FloorDiv(i128 a, i128 b) {  // b > 0
  return static_cast<int64_t>(a >= 0 ? a / b : -((-a + b - 1) / b));
}

struct Exact {
  bool allowed = false;
  bool on_boundary = false;  // the true answer is less than 1 µs from flipping
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_after_ms = 0;
};

// One key of one algorithm, exactly. Rates are limit per window (no refill_per_sec).
class ExactModel {
 public:
  explicit ExactModel(const LimitParams& p)
      : p_(p), w_(p.window_ms * 1000), l_(p.limit), b_(p.burst) {}

  // Decides at `now` (µs) without charging; Charge() applies an admitted decision.
  Exact Decide(int64_t now, int64_t cost) {
    switch (p_.algorithm) {
      case Algorithm::kTokenBucket:
        return TokenBucket(now, cost);
      case Algorithm::kLeakyBucket:
        return LeakyBucket(now, cost);
      case Algorithm::kGcra:
        return Gcra(now, cost);
      case Algorithm::kFixedWindow:
        return FixedWindow(now, cost);
      case Algorithm::kSlidingWindowCounter:
        return SlidingCounter(now, cost);
      case Algorithm::kSlidingWindowLog:
        return SlidingLog(now, cost);
    }
    return {};
  }
  void Charge(int64_t now, int64_t cost) { pending_(now, cost); }

 private:
  // Token bucket: the level in token-µs (tokens × window), refilled by `limit` per µs.
  Exact TokenBucket(int64_t now, int64_t cost) {
    i128 level = b_ * w_;
    if (seen_) {
      level = level_;
      if (now > updated_) level = std::min<i128>(b_ * w_, level + i128(now - updated_) * l_);
    }
    const i128 margin = level - i128(cost) * w_;  // >= 0: admitted
    Exact e;
    e.allowed = margin >= 0;
    e.on_boundary = margin > -l_ && margin < l_;
    const i128 after = e.allowed ? level - i128(cost) * w_ : level;
    e.remaining = FloorDiv(after, w_);
    e.reset_ms = CeilDiv(i128(b_) * w_ - after, i128(l_) * 1000);
    if (!e.allowed) e.retry_after_ms = CeilDiv(-margin, i128(l_) * 1000);
    const i128 charged = level - i128(cost) * w_;
    pending_ = [this, charged](int64_t t, int64_t) {
      seen_ = true;
      level_ = charged;
      updated_ = t;
    };
    return e;
  }

  // Leaky bucket: the level in request-µs, drained by `limit` per µs; admitted while it fits.
  Exact LeakyBucket(int64_t now, int64_t cost) {
    i128 level = 0;
    if (seen_) {
      level = level_;
      if (now > updated_) level = std::max<i128>(0, level - i128(now - updated_) * l_);
    }
    const i128 margin = i128(b_) * w_ - (level + i128(cost) * w_);
    Exact e;
    e.allowed = margin >= 0;
    e.on_boundary = margin > -l_ && margin < l_;
    const i128 after = e.allowed ? level + i128(cost) * w_ : level;
    e.remaining = FloorDiv(i128(b_) * w_ - after, w_);
    e.reset_ms = CeilDiv(after, i128(l_) * 1000);
    if (!e.allowed) e.retry_after_ms = CeilDiv(-margin, i128(l_) * 1000);
    const i128 charged = level + i128(cost) * w_;
    pending_ = [this, charged](int64_t t, int64_t) {
      seen_ = true;
      level_ = charged;
      updated_ = t;
    };
    return e;
  }

  // GCRA: times in units of 1/limit µs, so the emission interval is the window, exactly.
  Exact Gcra(int64_t now, int64_t cost) {
    const i128 now_u = i128(now) * l_;
    const i128 tat = seen_ ? std::max<i128>(level_, now_u) : now_u;
    const i128 new_tat = tat + i128(cost) * w_;
    const i128 margin = i128(w_) * b_ - (new_tat - now_u);
    Exact e;
    e.allowed = margin >= 0;
    e.on_boundary = margin > -l_ && margin < l_;
    const i128 held = e.allowed ? new_tat : tat;
    e.remaining = FloorDiv(i128(w_) * b_ - (held - now_u), w_);
    e.reset_ms = CeilDiv(held - now_u, i128(l_) * 1000);
    if (!e.allowed) e.retry_after_ms = CeilDiv(-margin, i128(l_) * 1000);
    pending_ = [this, new_tat](int64_t, int64_t) {
      seen_ = true;
      level_ = new_tat;
    };
    return e;
  }

  Exact FixedWindow(int64_t now, int64_t cost) {
    const int64_t window = now / w_;
    const int64_t count = seen_ && window_ == window ? count_ : 0;
    Exact e;
    e.allowed = count + cost <= l_;
    const int64_t after = e.allowed ? count + cost : count;
    const int64_t end = (window + 1) * w_;
    e.remaining = l_ - after;
    e.reset_ms = after > 0 ? CeilDiv(end - now, 1000) : 0;
    if (!e.allowed) e.retry_after_ms = CeilDiv(end - now, 1000);
    pending_ = [this, window, charged = count + cost](int64_t, int64_t) {
      seen_ = true;
      window_ = window;
      count_ = charged;
    };
    return e;
  }

  // Sliding window counter: estimate = previous × (W - elapsed) / W + count, compared in
  // request-µs.
  Exact SlidingCounter(int64_t now, int64_t cost) {
    const int64_t window = now / w_;
    int64_t count = 0, previous = 0;
    if (seen_ && window_ == window) count = count_, previous = previous_;
    if (seen_ && window_ == window - 1) previous = count_;
    const int64_t elapsed = now - window * w_;
    const i128 weighted = i128(previous) * (w_ - elapsed);  // request-µs still counted
    const i128 margin = i128(l_) * w_ - weighted - i128(count + cost) * w_;
    Exact e;
    e.allowed = margin >= 0;
    e.on_boundary = previous > 0 && margin > -previous && margin < previous;
    const int64_t after = e.allowed ? count + cost : count;
    e.remaining = std::max<int64_t>(0, FloorDiv(i128(l_) * w_ - weighted - i128(after) * w_, w_));
    e.reset_ms = after > 0      ? CeilDiv(2 * w_ - elapsed, 1000)
                 : previous > 0 ? CeilDiv(w_ - elapsed, 1000)
                                : 0;
    if (!e.allowed) {
      // The earliest µs at which the estimate leaves room: in this window if the previous
      // window's weight falls far enough, else in the next one, where `count` weighs instead.
      const int64_t room = l_ - count - cost;
      int64_t wait;
      if (previous > 0 && room >= 0) {
        wait = CeilDiv(i128(w_) * (previous - room), previous) - elapsed;
      } else {
        const int64_t next_room = l_ - cost;
        const int64_t into_next =
            count > next_room ? CeilDiv(i128(w_) * (count - next_room), count) : 0;
        wait = w_ - elapsed + into_next;
      }
      e.retry_after_ms = CeilDiv(wait, 1000);
    }
    pending_ = [this, window, charged = count + cost, previous](int64_t, int64_t) {
      seen_ = true;
      window_ = window;
      count_ = charged;
      previous_ = previous;
    };
    return e;
  }

  Exact SlidingLog(int64_t now, int64_t cost) {
    std::deque<int64_t> log = log_;
    while (!log.empty() && log.front() <= now - w_) log.pop_front();
    const int64_t used = static_cast<int64_t>(log.size());
    Exact e;
    e.allowed = used + cost <= l_;
    if (!e.allowed) {
      // The entry whose leaving makes room: it leaves at its time + W.
      e.retry_after_ms = CeilDiv(log[used + cost - l_ - 1] + w_ - now, 1000);
    }
    const int64_t after = e.allowed ? used + cost : used;
    e.remaining = l_ - after;
    const int64_t newest = e.allowed ? now : (log.empty() ? 0 : log.back());
    e.reset_ms = after > 0 ? CeilDiv(newest + w_ - now, 1000) : 0;
    pending_ = [this, log](int64_t t, int64_t c) mutable {
      for (int64_t i = 0; i < c; ++i) log.push_back(t);
      log_ = log;
    };
    return e;
  }

  const LimitParams p_;
  const int64_t w_, l_, b_;
  bool seen_ = false;
  i128 level_ = 0;  // bucket level, or GCRA's theoretical arrival time
  int64_t updated_ = 0;
  int64_t window_ = 0, count_ = 0, previous_ = 0;
  std::deque<int64_t> log_;
  std::function<void(int64_t, int64_t)> pending_;
};

class AlgorithmModelTest : public ::testing::Test {
 protected:
  limiter::RuleCheck Check(const std::string& key, const LimitParams& p, int64_t cost) {
    limiter::RuleCheck c;
    c.rule = "model";
    c.key = key;
    c.ban_key = key + ":ban";
    c.strike_key = key + ":strikes";
    c.params = p;
    c.cost = cost;
    return c;
  }
  // Decides `cost` at `now` against a copy of `key`'s state, leaving `key` as it is.
  bool AdmittedOnACopy(const std::string& key, const LimitParams& p, int64_t cost, int64_t now) {
    const std::string probe = key + ":probe";
    redis_.Must({"DEL", probe});
    redis_.Must({"COPY", key, probe});
    auto answer = store_.DecideAt({Check(probe, p, cost)}, now);
    EXPECT_TRUE(answer.ok()) << answer.status().message();
    return answer.ok() && answer->answer.rules[0].allowed;
  }

  RedisServer redis_;
  common::SystemClock clock_;
  limiter::RedisDecisionStore store_{redis_.client(), clock_};
};

TEST_F(AlgorithmModelTest, EveryAlgorithmMatchesAnExactModelAndKeepsEveryRetryPromise) {
  const Algorithm algorithms[] = {Algorithm::kTokenBucket,          Algorithm::kGcra,
                                  Algorithm::kSlidingWindowLog,     Algorithm::kFixedWindow,
                                  Algorithm::kSlidingWindowCounter, Algorithm::kLeakyBucket};
  std::mt19937_64 rng(20261201);
  for (Algorithm algorithm : algorithms) {
    int allowed = 0, blocked = 0, promises = 0, boundaries = 0;
    for (int sequence = 0; sequence < 12; ++sequence) {
      LimitParams p;
      p.algorithm = algorithm;
      p.limit = 1 + static_cast<int64_t>(rng() % 10);
      p.burst = 1 + static_cast<int64_t>(rng() % 10);
      p.window_ms = 50 + static_cast<int64_t>(rng() % 20'000);
      const int64_t capacity = limiter::Capacity(p);
      const std::string key = "model:" + std::string(limiter::AlgorithmName(algorithm)) + ":" +
                              std::to_string(sequence);
      ExactModel model(p);
      // A clock far from the epoch's present, so that doubles hold times to well below a µs.
      int64_t now = 1'000'000'000'000 + static_cast<int64_t>(rng() % 1'000'000'000);
      for (int step = 0; step < 80; ++step) {
        const int64_t w = p.window_ms * 1000;
        switch (rng() % 4) {  // same instant, a little, a lot, or a round millisecond
          case 0:
            break;
          case 1:
            now += static_cast<int64_t>(rng() % (w / 20 + 1));
            break;
          case 2:
            now += static_cast<int64_t>(rng() % (w + 1));
            break;
          default:
            now += 1000 * static_cast<int64_t>(rng() % (p.window_ms / 4 + 1));
        }
        const int64_t cost = 1 + static_cast<int64_t>(rng() % std::min<int64_t>(3, capacity));
        const std::string where = std::string(limiter::AlgorithmName(algorithm)) + " limit " +
                                  std::to_string(p.limit) + " burst " + std::to_string(p.burst) +
                                  " window " + std::to_string(p.window_ms) + "ms, sequence " +
                                  std::to_string(sequence) + " step " + std::to_string(step) +
                                  " cost " + std::to_string(cost);
        auto answer = store_.DecideAt({Check(key, p, cost)}, now);
        ASSERT_TRUE(answer.ok()) << where << ": " << answer.status().message();
        const limiter::RuleAnswer& lua = answer->answer.rules[0];
        const Exact exact = model.Decide(now, cost);
        // On a boundary either answer is right, and the model follows the script.
        if (!exact.on_boundary) ASSERT_EQ(lua.allowed, exact.allowed) << where;
        boundaries += exact.on_boundary;
        if (lua.allowed == exact.allowed) {
          EXPECT_GE(lua.remaining, exact.remaining - 1) << where;
          EXPECT_LE(lua.remaining, exact.remaining) << where;
          EXPECT_GE(lua.reset_ms, exact.reset_ms) << where;
          EXPECT_LE(lua.reset_ms, exact.reset_ms + 1) << where;
          EXPECT_GE(lua.retry_after_ms, exact.retry_after_ms) << where;
          EXPECT_LE(lua.retry_after_ms, exact.retry_after_ms + 1) << where;
        }
        if (lua.allowed) {
          model.Charge(now, cost);
          ++allowed;
          continue;
        }
        ++blocked;
        ASSERT_GE(lua.retry_after_ms, 1) << where;
        if (redis_.Must({"EXISTS", key}).integer == 1) {
          ++promises;
          EXPECT_TRUE(AdmittedOnACopy(key, p, cost, now + lua.retry_after_ms * 1000))
              << where << ": retry_after_ms " << lua.retry_after_ms << " is too early";
          if (lua.retry_after_ms > 1) {
            EXPECT_FALSE(AdmittedOnACopy(key, p, cost, now + (lua.retry_after_ms - 1) * 1000))
                << where << ": retry_after_ms " << lua.retry_after_ms << " is not the earliest";
          }
        }
        if (HasFailure()) return;
      }
    }
    const std::string name(limiter::AlgorithmName(algorithm));
    std::cout << "[ figures  ] " << name << ": " << allowed << " admitted, " << blocked
              << " blocked, " << promises << " retry promises kept in Redis, " << boundaries
              << " exact boundaries\n";
    EXPECT_GT(allowed, 200) << name;
    EXPECT_GT(blocked, 100) << name;
    EXPECT_GT(promises, 100) << name;
  }
}

}  // namespace
}  // namespace rl::testing

namespace rl::testing {
namespace {

// One policy.lua call for a whole batch (the event loops' /check/batch, the threaded store on one
// server) answers exactly as that many calls in a row at the same instant: the same requests,
// with repeated keys, several rules, shadow rules and penalties (so blocks, strikes, bans and
// all-or-nothing all happen), decided once per batch on keys "a:" and once per request on keys
// "b:", every field compared.
TEST_F(AlgorithmModelTest, ABatchCallDecidesExactlyAsThatManyCallsInARow) {
  const common::LuaScript script(kPolicyLua);
  const Algorithm algorithms[] = {Algorithm::kTokenBucket,          Algorithm::kGcra,
                                  Algorithm::kSlidingWindowLog,     Algorithm::kFixedWindow,
                                  Algorithm::kSlidingWindowCounter, Algorithm::kLeakyBucket};
  std::mt19937_64 rng(20261203);
  auto rule = [&](const std::string& space, int key) {
    limiter::RuleCheck c;
    LimitParams& p = c.params;
    p.algorithm = algorithms[key % 6];
    p.limit = 2 + key % 3;
    p.burst = 2 + key % 2;
    p.window_ms = 1000 + 500 * (key % 4);
    c.rule = "r" + std::to_string(key);
    c.key = space + "k" + std::to_string(key);
    c.ban_key = c.key + ":ban";
    c.strike_key = c.key + ":strikes";
    c.shadow = key % 7 == 3;
    if (key % 5 == 1) c.penalty = {.blocks = 2, .within_ms = 60'000, .ban_ms = 30'000};
    return c;
  };
  int64_t now = 1'000'000'000'000;
  int compared = 0, refused = 0, banned = 0;
  for (int round = 0; round < 60; ++round) {
    now += static_cast<int64_t>(rng() % 400'000);
    std::vector<std::vector<limiter::RuleCheck>> a, b;
    const int requests = 1 + static_cast<int>(rng() % 8);
    for (int r = 0; r < requests; ++r) {
      std::vector<limiter::RuleCheck> in_a, in_b;
      const int rules = 1 + static_cast<int>(rng() % 3);
      const int64_t cost = 1 + static_cast<int64_t>(rng() % 2);
      for (int k = 0; k < rules; ++k) {
        const int key = static_cast<int>(rng() % 12);  // few keys: requests meet on them
        in_a.push_back(rule("a:", key));
        in_b.push_back(rule("b:", key));
        in_a.back().cost = in_b.back().cost = cost;
      }
      a.push_back(std::move(in_a));
      b.push_back(std::move(in_b));
    }
    const common::ScriptCall call = limiter::PolicyBatchScriptCall(a, now);
    const auto batched =
        limiter::ParsePolicyBatchReply(redis_.client().Eval(script, call.keys, call.args), a);
    ASSERT_EQ(batched.size(), b.size());
    for (size_t r = 0; r < b.size(); ++r) {
      const auto one = store_.DecideAt(b[r], now);
      ASSERT_TRUE(one.ok()) << one.status().message();
      ASSERT_TRUE(batched[r].ok()) << batched[r].status().message();
      const std::string where = "round " + std::to_string(round) + " request " + std::to_string(r);
      EXPECT_EQ(batched[r]->now_ms, one->now_ms) << where;
      EXPECT_EQ(batched[r]->answer.refused_by_ban, one->answer.refused_by_ban) << where;
      ASSERT_EQ(batched[r]->answer.rules.size(), one->answer.rules.size()) << where;
      for (size_t k = 0; k < one->answer.rules.size(); ++k) {
        const auto& x = batched[r]->answer.rules[k];
        const auto& y = one->answer.rules[k];
        EXPECT_EQ(x.allowed, y.allowed) << where << " rule " << k;
        EXPECT_EQ(x.remaining, y.remaining) << where << " rule " << k;
        // A ban's time left is Redis's own clock (PTTL of a key set with PX), not the script's
        // `now`: the two runs read it a moment apart. Everything else is exact.
        const int64_t slack = y.banned_ms > 0 ? 50 : 0;
        EXPECT_NEAR(x.reset_ms, y.reset_ms, slack) << where << " rule " << k;
        EXPECT_NEAR(x.retry_after_ms, y.retry_after_ms, slack) << where << " rule " << k;
        EXPECT_NEAR(x.banned_ms, y.banned_ms, slack) << where << " rule " << k;
        EXPECT_EQ(x.banned_ms > 0, y.banned_ms > 0) << where << " rule " << k;
        refused += y.allowed ? 0 : 1;
        banned += y.banned_ms > 0 ? 1 : 0;
        ++compared;
      }
    }
  }
  // The sequences reached every case worth comparing.
  EXPECT_GT(refused, 20);
  EXPECT_GT(banned, 5);
  std::cout << "[figures] " << compared << " rule answers compared, " << refused << " refused, "
            << banned << " banned\n";
}

}  // namespace
}  // namespace rl::testing
