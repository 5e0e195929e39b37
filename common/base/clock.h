#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace rl::common {

// Time source injected wherever C++ code needs the time. Thread-safe.
// Redis TIME, not this, is the clock of every decision; this one times what the limiter does
// locally (the blocked cache counts its retry times down with MonotonicUs, timeouts, records).
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
  // Monotonic microseconds, for durations only.
  virtual int64_t MonotonicUs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1'700'000'000'000) : now_us_(now_ms * 1000) {}
  int64_t NowMs() const override { return now_us_.load() / 1000; }
  int64_t MonotonicUs() const override { return now_us_.load(); }
  void AdvanceMs(int64_t ms) { now_us_ += ms * 1000; }
  void AdvanceUs(int64_t us) { now_us_ += us; }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace rl::common
