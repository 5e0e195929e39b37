#pragma once
// A process's event loops (libevent): N threads, each running one event_base, and a way for any
// thread to hand a loop work (Post). Whatever lives on a loop (an HTTP server's connections, a
// Redis connection) is attached to its base before Start and destroyed after Stop, so no loop
// runs while its things are made or freed.

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

struct event_base;

namespace rl::common {

class EventLoops {
 public:
  explicit EventLoops(int threads);
  // Stops the loops, if running, then frees them: what was attached to them must be gone first.
  ~EventLoops();
  EventLoops(const EventLoops&) = delete;
  EventLoops& operator=(const EventLoops&) = delete;

  int size() const { return static_cast<int>(loops_.size()); }
  event_base* base(int loop) const;

  // Runs every loop on a thread of its own; a loop with nothing to wait for keeps running.
  void Start();
  // Runs `work` on `loop`'s thread, after the work posted to it before. Thread-safe. Work still
  // waiting when the loops stop is dropped unrun.
  void Post(int loop, std::function<void()> work);
  // The loops in turn (thread-safe): where the next piece of work from outside should go.
  int Next();
  // Lets the loops run `grace_ms` more (answers under way go out), then stops and joins them.
  void Stop(int grace_ms);

 private:
  struct Loop;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::unique_ptr<std::atomic<unsigned>> next_;
  bool running_ = false;
};

}  // namespace rl::common
