#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"

namespace rl::common {

// The task queue of every HTTP server: each connection gets a thread of its own for as long as it
// is open. `min_threads` wait for connections; while all threads are busy another is started, up
// to `max_threads`; a thread above the minimum that is idle for `idle_exit_ms` ends. So slow
// clients (slowloris) hold only their own threads and everyone else keeps being served, until
// max_threads connections are open at once; beyond that a connection waits for a free thread
// (rl_http_connections_waited_total and a warn log).
class ElasticThreadPool : public httplib::TaskQueue {
 public:
  struct Options {
    size_t min_threads = 64;    // HTTP_THREADS
    size_t max_threads = 1024;  // HTTP_MAX_THREADS
    int idle_exit_ms = 10000;
  };
  // What the metrics read; shared because httplib destroys the pool when the server stops.
  struct Stats {
    std::atomic<int64_t> threads{0};
    std::atomic<int64_t> busy{0};
  };

  ElasticThreadPool(Options options, std::shared_ptr<Stats> stats, Counter* waited,
                    const Clock& clock);
  ~ElasticThreadPool() override;

  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then waits for every thread to end.
  void shutdown() override;

 private:
  void StartThread();  // with mu_ held
  void Work();

  const Options options_;
  const std::shared_ptr<Stats> stats_;
  Counter* const waited_;
  LogThrottle log_;
  std::mutex mu_;
  std::condition_variable work_;   // a job arrived, or shutdown
  std::condition_variable ended_;  // a thread ended
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0;
  size_t running_ = 0;  // threads running a job (serving a connection)
  bool shutdown_ = false;
};

// Registers rl_http_threads, rl_http_busy_threads and rl_http_connections_waited_total, and
// returns the factory to assign to httplib::Server::new_task_queue.
std::function<httplib::TaskQueue*()> ElasticThreadPoolFactory(ElasticThreadPool::Options options,
                                                              MetricsRegistry& metrics,
                                                              const Clock& clock);

}  // namespace rl::common
