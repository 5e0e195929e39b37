#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "common/redis/redis_client.h"

namespace rl::limiter {

// Writes this limiter's entry of the ledger (common/limiter_ledger.h) in the analytics Redis: how
// far it decided (its highest event sequence), at most once an interval while it decides and once
// a second when idle. Events a crash loses (a SIGKILL with events in the producer buffer) are then
// visible in GET /analytics/limiters as decided but never counted; only what was decided after
// the last record (one interval plus one Redis round trip) is not.
class ProgressRecorder {
 public:
  // `decided` returns the highest event sequence handed out so far; it is called on the thread.
  ProgressRecorder(common::RedisPool& redis, std::string limiter_id,
                   std::function<uint64_t()> decided, const common::Clock& clock,
                   common::MetricsRegistry& metrics, int interval_ms);
  ~ProgressRecorder();

  // Stops the periodic records and writes the last one, with state "stopped" (a clean shutdown).
  // True if it was written.
  bool Finish();

 private:
  void Loop();
  void Stop();
  bool Record(const char* state, uint64_t decided);

  common::RedisPool& redis_;
  const std::string limiter_id_;
  const std::string key_;
  const std::function<uint64_t()> decided_;
  const common::Clock& clock_;
  const int interval_ms_;
  common::Counter& failed_;
  common::LogThrottle log_;
  bool registered_ = false;  // in the set of limiters; only touched by one thread at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rl::limiter
