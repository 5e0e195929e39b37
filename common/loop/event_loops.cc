#include "common/loop/event_loops.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <mutex>
#include <thread>

namespace rl::common {

// One loop: its base, its thread, and the work posted to it (run on the wake event).
struct EventLoops::Loop {
  event_base* base = nullptr;
  event* wake = nullptr;
  std::mutex mu;
  std::vector<std::function<void()>> posted;  // guarded by mu
  std::thread thread;

  static void OnWake(int, short, void* arg) {
    auto* loop = static_cast<Loop*>(arg);
    std::vector<std::function<void()>> work;
    {
      const std::lock_guard lock(loop->mu);
      work.swap(loop->posted);
    }
    for (auto& piece : work) piece();
  }
};

EventLoops::EventLoops(int threads) : next_(std::make_unique<std::atomic<unsigned>>(0)) {
  static std::once_flag threads_on;
  // Locking in every base, so that another thread may wake one (event_active, loopexit).
  std::call_once(threads_on, [] { evthread_use_pthreads(); });
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->base = event_base_new();
    loop->wake = event_new(loop->base, -1, 0, &Loop::OnWake, loop.get());
    loops_.push_back(std::move(loop));
  }
}

EventLoops::~EventLoops() {
  Stop(0);
  for (auto& loop : loops_) {
    event_free(loop->wake);
    event_base_free(loop->base);
  }
}

event_base* EventLoops::base(int loop) const { return loops_.at(loop)->base; }

void EventLoops::Start() {
  if (running_) return;
  running_ = true;
  for (auto& loop : loops_) {
    loop->thread =
        std::thread([base = loop->base] { event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY); });
  }
}

void EventLoops::Post(int index, std::function<void()> work) {
  Loop& loop = *loops_.at(index);
  bool first = false;
  {
    const std::lock_guard lock(loop.mu);
    first = loop.posted.empty();
    loop.posted.push_back(std::move(work));
  }
  // One wake for all the work posted before the loop gets to it.
  if (first) event_active(loop.wake, EV_READ, 0);
}

int EventLoops::Next() {
  return static_cast<int>(next_->fetch_add(1, std::memory_order_relaxed) % loops_.size());
}

void EventLoops::Stop(int grace_ms) {
  if (!running_) return;
  running_ = false;
  const timeval grace{grace_ms / 1000, (grace_ms % 1000) * 1000};
  for (auto& loop : loops_) event_base_loopexit(loop->base, &grace);
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
    const std::lock_guard lock(loop->mu);
    loop->posted.clear();
  }
}

}  // namespace rl::common
