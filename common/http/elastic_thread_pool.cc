#include "common/http/elastic_thread_pool.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace rl::common {

ElasticThreadPool::ElasticThreadPool(Options options, std::shared_ptr<Stats> stats, Counter* waited,
                                     const Clock& clock)
    : options_(options), stats_(std::move(stats)), waited_(waited), log_(clock, 10000) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < options_.min_threads; ++i) StartThread();
}

ElasticThreadPool::~ElasticThreadPool() { shutdown(); }

void ElasticThreadPool::StartThread() {
  ++threads_;
  stats_->threads = static_cast<int64_t>(threads_);
  std::thread([this] { Work(); }).detach();
}

void ElasticThreadPool::enqueue(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (shutdown_) return;  // httplib stops accepting before it shuts the queue down
  jobs_.push_back(std::move(fn));
  if (jobs_.size() <= threads_ - running_) {  // a thread is free, or starting

    work_.notify_one();
    return;
  }
  if (threads_ < options_.max_threads) {
    StartThread();
    return;
  }
  if (waited_) waited_->Inc();
  uint64_t suppressed = 0;
  if (log_.ShouldLog(&suppressed)) {
    spdlog::warn(
        "http: all {} threads (HTTP_MAX_THREADS) hold open connections; {} connections wait "
        "for a free thread ({} more not logged)",
        threads_, jobs_.size(), suppressed);
  }
}

void ElasticThreadPool::Work() {
  std::unique_lock lock(mu_);
  while (true) {
    const bool woken = work_.wait_for(lock, std::chrono::milliseconds(options_.idle_exit_ms),
                                      [this] { return !jobs_.empty() || shutdown_; });
    if (!jobs_.empty()) {
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      stats_->busy = static_cast<int64_t>(++running_);
      lock.unlock();
      job();
      lock.lock();
      stats_->busy = static_cast<int64_t>(--running_);
      continue;
    }
    if (shutdown_ || (!woken && threads_ > options_.min_threads)) break;
  }
  --threads_;
  stats_->threads = static_cast<int64_t>(threads_);
  ended_.notify_all();  // with mu_ held: after the unlock below this thread touches nothing
}

void ElasticThreadPool::shutdown() {
  std::unique_lock lock(mu_);
  shutdown_ = true;
  work_.notify_all();
  ended_.wait(lock, [this] { return threads_ == 0; });
}

std::function<httplib::TaskQueue*()> ElasticThreadPoolFactory(ElasticThreadPool::Options options,
                                                              MetricsRegistry& metrics,
                                                              const Clock& clock) {
  auto stats = std::make_shared<ElasticThreadPool::Stats>();
  metrics.AddGaugeFn("rl_http_threads", "HTTP threads (each serves one open connection)", {},
                     [stats] { return static_cast<double>(stats->threads.load()); });
  metrics.AddGaugeFn("rl_http_busy_threads", "HTTP threads holding an open connection", {},
                     [stats] { return static_cast<double>(stats->busy.load()); });
  Counter* waited = &metrics.AddCounter(
      "rl_http_connections_waited_total",
      "Connections that waited for a thread because HTTP_MAX_THREADS were busy");
  return [options, stats, waited, &clock] {
    return new ElasticThreadPool(options, stats, waited, clock);
  };
}

}  // namespace rl::common
