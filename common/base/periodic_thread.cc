#include "common/base/periodic_thread.h"

#include <chrono>

namespace rl::common {

PeriodicThread::PeriodicThread(int interval_ms, std::function<void()> tick)
    : interval_ms_(interval_ms), tick_(std::move(tick)), thread_([this] {
        while (true) {
          tick_();
          std::unique_lock lock(mu_);
          if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_),
                           [this] { return stopping_; })) {
            return;
          }
        }
      }) {}

PeriodicThread::~PeriodicThread() { Stop(); }

void PeriodicThread::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace rl::common
