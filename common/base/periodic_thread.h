#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace rl::common {

// Runs `tick` on a thread of its own: at once, then every interval_ms, until Stop() (or
// destruction). The work itself lives elsewhere, in a class whose Tick() tests call directly on
// a manual clock; this only supplies the thread and the waiting. `tick` must not throw.
class PeriodicThread {
 public:
  PeriodicThread(int interval_ms, std::function<void()> tick);
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Waits for a tick in progress to end; no tick starts afterwards. Idempotent.
  void Stop();

 private:
  const int interval_ms_;
  const std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rl::common
