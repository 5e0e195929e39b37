#include "common/redis/redis_cluster.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "spdlog/spdlog.h"

namespace rl::common {
namespace {

constexpr int kMaxRedirections = 5;

bool ParseInt(std::string_view text, int* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

void Inc(Counter* counter) {
  if (counter) counter->Inc();
}

// The second reply of ASKING + command, sent as one pipeline on one connection.
Result<RedisValue> Asking(RedisPool& pool, std::vector<std::string> argv) {
  auto replies = pool.CommandPipelined({{"ASKING"}, std::move(argv)});
  return std::move(replies[1]);
}

bool Redirected(const Result<RedisValue>& reply) {
  if (reply.ok() || reply.status().code() != Status::Code::kErrorReply) return false;
  Redirection unused;
  return ParseRedirection(reply.status().message(), &unused) ||
         reply.status().IsErrorReply("TRYAGAIN");
}

}  // namespace

bool ParseRedirection(const std::string& error, Redirection* out) {
  std::string_view text = error;
  if (text.rfind("MOVED ", 0) == 0) {
    out->ask = false;
    text.remove_prefix(6);
  } else if (text.rfind("ASK ", 0) == 0) {
    out->ask = true;
    text.remove_prefix(4);
  } else {
    return false;
  }
  size_t space = text.find(' ');
  if (space == std::string_view::npos || !ParseInt(text.substr(0, space), &out->slot) ||
      out->slot < 0 || out->slot >= kRedisClusterSlots) {
    return false;
  }
  std::string_view address = text.substr(space + 1);
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || !ParseInt(address.substr(colon + 1), &out->port) ||
      out->port < 1 || out->port > 65535) {
    return false;
  }
  out->host = std::string(address.substr(0, colon));
  return true;
}

Result<std::vector<SlotRange>> ParseClusterSlots(const RedisValue& reply,
                                                 const std::string& fallback_host) {
  if (reply.type != RedisValue::Type::kArray) {
    return Status::Internal("CLUSTER SLOTS: not an array");
  }
  std::vector<SlotRange> ranges;
  for (const RedisValue& entry : reply.elements) {
    if (entry.type != RedisValue::Type::kArray || entry.elements.size() < 3 ||
        entry.elements[0].type != RedisValue::Type::kInteger ||
        entry.elements[1].type != RedisValue::Type::kInteger ||
        entry.elements[2].type != RedisValue::Type::kArray ||
        entry.elements[2].elements.size() < 2 ||
        entry.elements[2].elements[1].type != RedisValue::Type::kInteger) {
      return Status::Internal("CLUSTER SLOTS: unexpected entry");
    }
    SlotRange range;
    range.first = static_cast<int>(entry.elements[0].integer);
    range.last = static_cast<int>(entry.elements[1].integer);
    const RedisValue& primary = entry.elements[2];
    range.host = primary.elements[0].str.empty() || primary.elements[0].str == "?"
                     ? fallback_host
                     : primary.elements[0].str;
    range.port = static_cast<int>(primary.elements[1].integer);
    if (range.first < 0 || range.last >= kRedisClusterSlots || range.first > range.last) {
      return Status::Internal("CLUSTER SLOTS: slot range out of bounds");
    }
    ranges.push_back(std::move(range));
  }
  return ranges;
}

RedisCluster::RedisCluster(RedisClusterOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

RedisPool& RedisCluster::PoolAt(const std::string& host, int port) {
  const std::string name = host + ":" + std::to_string(port);
  std::lock_guard lock(mu_);
  auto& pool = pools_[name];
  if (!pool) {
    RedisEndpoint endpoint;
    if (!options_.seeds.empty()) endpoint = options_.seeds.front();  // credentials
    endpoint.host = host;
    endpoint.port = port;
    endpoint.db = 0;  // a cluster has only database 0
    pool = std::make_unique<RedisPool>(RedisPoolOptions{.endpoint = endpoint,
                                                        .timeout_ms = options_.timeout_ms,
                                                        .script_reloads = options_.script_reloads,
                                                        .breaker = options_.breaker,
                                                        .clock = &clock_,
                                                        .breaker_metrics =
                                                            options_.breaker_metrics});
  }
  return *pool;
}

CircuitBreaker::State RedisCluster::BreakerState() const {
  std::lock_guard lock(mu_);
  bool half_open = false;
  for (const auto& [name, pool] : pools_) {
    const CircuitBreaker::State state = pool->BreakerState();
    if (state == CircuitBreaker::State::kOpen) return state;
    half_open = half_open || state == CircuitBreaker::State::kHalfOpen;
  }
  return half_open ? CircuitBreaker::State::kHalfOpen : CircuitBreaker::State::kClosed;
}

Status RedisCluster::Refresh() {
  std::lock_guard refreshing(refresh_mu_);
  last_refresh_us_ = clock_.MonotonicUs();
  std::vector<std::pair<std::string, int>> candidates;
  {
    std::lock_guard lock(mu_);
    for (const RedisPool* pool : slots_) {
      if (pool) candidates.emplace_back(pool->endpoint().host, pool->endpoint().port);
    }
  }
  for (const auto& seed : options_.seeds) candidates.emplace_back(seed.host, seed.port);
  std::string last_error = "no seed nodes";
  std::string tried;
  for (const auto& [host, port] : candidates) {
    const std::string name = host + ":" + std::to_string(port);
    if (tried.find("|" + name + "|") != std::string::npos) continue;
    tried += "|" + name + "|";
    auto reply = PoolAt(host, port).Command({"CLUSTER", "SLOTS"});
    if (!reply.ok()) {
      last_error = name + ": " + reply.status().message();
      continue;
    }
    auto ranges = ParseClusterSlots(reply.value(), host);
    if (!ranges.ok()) {
      last_error = name + ": " + ranges.status().message();
      continue;
    }
    std::array<RedisPool*, kRedisClusterSlots> slots{};
    for (const SlotRange& range : ranges.value()) {
      RedisPool* pool = &PoolAt(range.host, range.port);
      for (int slot = range.first; slot <= range.last; ++slot) slots[slot] = pool;
    }
    {
      std::lock_guard lock(mu_);
      slots_ = slots;
    }
    Inc(options_.refreshes);
    return Status::Ok();
  }
  return Status::Unavailable("redis cluster: no node answered CLUSTER SLOTS (" + last_error + ")");
}

void RedisCluster::RefreshSoon() {
  if (clock_.MonotonicUs() - last_refresh_us_.load() < options_.refresh_interval_ms * 1000LL) {
    return;
  }
  std::unique_lock busy(refresh_mu_, std::try_to_lock);
  if (!busy.owns_lock()) return;  // another thread is reloading it
  busy.unlock();
  if (Status s = Refresh(); !s.ok())
    spdlog::warn("redis cluster: slot map not reloaded: {}", s.message());
}

RedisPool* RedisCluster::PoolFor(int slot) {
  {
    std::lock_guard lock(mu_);
    if (slots_[slot]) return slots_[slot];
  }
  RefreshSoon();
  std::lock_guard lock(mu_);
  return slots_[slot];
}

std::string RedisCluster::NodeOf(int slot) {
  std::lock_guard lock(mu_);
  const RedisPool* pool = slots_[slot];
  return pool ? pool->endpoint().host + ":" + std::to_string(pool->endpoint().port) : "";
}

Result<RedisValue> RedisCluster::Routed(int slot, const Send& send) {
  const int64_t deadline = clock_.MonotonicUs() + options_.timeout_ms * 1000LL;
  RedisPool* pool = PoolFor(slot);
  bool asking = false;
  int redirections = 0;
  while (true) {
    if (pool == nullptr) {
      return Status::Unavailable("redis cluster: no primary known for slot " +
                                 std::to_string(slot));
    }
    Result<RedisValue> reply = send(*pool, asking);  // through the node's breaker
    if (reply.ok()) return reply;
    const Status& error = reply.status();
    if (error.code() != Status::Code::kErrorReply) {
      RefreshSoon();  // the node may be gone: a promoted replica serves its slots soon
      return reply;
    }
    Redirection to;
    if (ParseRedirection(error.message(), &to)) {
      if (++redirections > kMaxRedirections) return reply;
      RedisPool& next = PoolAt(to.host.empty() ? pool->endpoint().host : to.host, to.port);
      if (to.ask) {
        Inc(options_.ask);
        asking = true;
      } else {
        Inc(options_.moved);
        {
          std::lock_guard lock(mu_);
          slots_[to.slot] = &next;
        }
        RefreshSoon();
        asking = false;
      }
      pool = &next;
      continue;
    }
    if (error.IsErrorReply("TRYAGAIN") && clock_.MonotonicUs() < deadline) {
      // The slot is being migrated and its keys are split between two nodes for a moment.
      Inc(options_.try_again);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      pool = PoolFor(slot);
      asking = false;
      redirections = 0;
      continue;
    }
    if (error.IsErrorReply("CLUSTERDOWN")) RefreshSoon();
    return reply;
  }
}

Result<RedisValue> RedisCluster::Command(const std::vector<std::string>& argv) {
  const int slot = argv.size() > 1 ? HashSlot(argv[1]) : 0;
  return Routed(slot, [&](RedisPool& pool, bool asking) {
    return asking ? Asking(pool, argv) : pool.Command(argv);
  });
}

Result<RedisValue> RedisCluster::Eval(const LuaScript& script, const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args) {
  const int slot = keys.empty() ? 0 : HashSlot(keys.front());
  return Routed(slot, [&](RedisPool& pool, bool asking) {
    // The node an ASK names may not have the script: EVAL it there (rare: a slot in migration).
    return asking ? Asking(pool, ScriptCommand("EVAL", script.body(), keys, args))
                  : pool.Eval(script, keys, args);
  });
}

std::vector<Result<RedisValue>> RedisCluster::EvalPipelined(const LuaScript& script,
                                                            const std::vector<ScriptCall>& calls) {
  std::vector<Result<RedisValue>> answers(calls.size(),
                                          Status::Unavailable("redis cluster: not sent"));
  std::map<RedisPool*, std::vector<size_t>> by_node;
  for (size_t i = 0; i < calls.size(); ++i) {
    by_node[PoolFor(calls[i].keys.empty() ? 0 : HashSlot(calls[i].keys.front()))].push_back(i);
  }
  for (const auto& [pool, indices] : by_node) {
    if (pool == nullptr) {
      for (size_t i : indices) answers[i] = Eval(script, calls[i].keys, calls[i].args);
      continue;
    }
    std::vector<ScriptCall> batch;
    batch.reserve(indices.size());
    for (size_t i : indices) batch.push_back(calls[i]);
    auto replies = pool->EvalPipelined(script, batch);  // through the node's breaker
    // The pipeline failed or succeeded as a whole (one connection).
    if (!replies.empty() && !replies.front().ok()) RefreshSoon();
    for (size_t j = 0; j < indices.size(); ++j) {
      const size_t i = indices[j];
      if (Redirected(replies[j])) {
        answers[i] = Eval(script, calls[i].keys, calls[i].args);  // follows it, one by one
      } else {
        answers[i] = std::move(replies[j]);
      }
    }
  }
  return answers;
}

std::vector<Result<RedisValue>> RedisCluster::CommandPipelined(
    const std::vector<std::vector<std::string>>& argvs) {
  std::vector<Result<RedisValue>> answers(argvs.size(),
                                          Status::Unavailable("redis cluster: not sent"));
  std::map<RedisPool*, std::vector<size_t>> by_node;
  for (size_t i = 0; i < argvs.size(); ++i) {
    by_node[PoolFor(argvs[i].size() > 1 ? HashSlot(argvs[i][1]) : 0)].push_back(i);
  }
  for (const auto& [pool, indices] : by_node) {
    if (pool == nullptr) {
      for (size_t i : indices) answers[i] = Command(argvs[i]);
      continue;
    }
    std::vector<std::vector<std::string>> batch;
    batch.reserve(indices.size());
    for (size_t i : indices) batch.push_back(argvs[i]);
    auto replies = pool->CommandPipelined(batch);  // through the node's breaker
    // The pipeline failed or succeeded as a whole (one connection).
    if (!replies.empty() && !replies.front().ok()) RefreshSoon();
    for (size_t j = 0; j < indices.size(); ++j) {
      const size_t i = indices[j];
      answers[i] = Redirected(replies[j]) ? Command(argvs[i]) : std::move(replies[j]);
    }
  }
  return answers;
}

Status RedisCluster::Ping(const Clock& clock, int64_t* latency_us) {
  auto known_primaries = [this] {
    std::vector<RedisPool*> found;
    std::lock_guard lock(mu_);
    for (RedisPool* pool : slots_) {
      if (pool && (found.empty() || found.back() != pool)) found.push_back(pool);
    }
    return found;
  };
  std::vector<RedisPool*> primaries = known_primaries();
  if (primaries.empty()) {
    if (Status s = Refresh(); !s.ok()) return s;
    primaries = known_primaries();
    if (primaries.empty()) return Status::Unavailable("redis cluster: no slot is served");
  }
  std::sort(primaries.begin(), primaries.end());
  primaries.erase(std::unique(primaries.begin(), primaries.end()), primaries.end());
  *latency_us = 0;
  for (RedisPool* pool : primaries) {
    int64_t us = 0;
    if (Status s = pool->Ping(clock, &us); !s.ok()) {
      RefreshSoon();
      return Status::Unavailable(pool->Describe() + ": " + s.message());
    }
    *latency_us = std::max(*latency_us, us);
  }
  return Status::Ok();
}

std::string RedisCluster::Describe() const {
  std::string seeds;
  for (const auto& seed : options_.seeds) {
    if (!seeds.empty()) seeds += ",";
    seeds += seed.host + ":" + std::to_string(seed.port);
  }
  return "cluster(" + seeds + ")";
}

}  // namespace rl::common
