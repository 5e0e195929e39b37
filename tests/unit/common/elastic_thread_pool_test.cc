#include "common/http/elastic_thread_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace rl::common {
namespace {

using namespace std::chrono_literals;

// Jobs that hold their thread until released, like slow connections.
class Gate {
 public:
  std::function<void()> Job() {
    return [this] {
      ++started_;
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return open_; });
    };
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int started() const { return started_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::atomic<int> started_{0};
};

bool Within(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct PoolTest : ::testing::Test {
  std::shared_ptr<ElasticThreadPool::Stats> stats = std::make_shared<ElasticThreadPool::Stats>();
  MetricsRegistry metrics;
  Counter& waited = metrics.AddCounter("rl_http_connections_waited_total", "");
  ManualClock clock;
};

TEST_F(PoolTest, StartsMoreThreadsThanTheMinimumWhileAllAreHeld) {
  Gate slow;
  auto pool = std::make_unique<ElasticThreadPool>(ElasticThreadPool::Options{2, 50, 10000}, stats,
                                                  &waited, clock);
  for (int i = 0; i < 20; ++i) pool->enqueue(slow.Job());
  EXPECT_TRUE(Within(5s, [&] { return slow.started() == 20; }));
  EXPECT_EQ(stats->threads.load(), 20);
  EXPECT_EQ(stats->busy.load(), 20);
  // One more connection is served at once, next to the held ones.
  std::promise<void> served;
  pool->enqueue([&] { served.set_value(); });
  EXPECT_EQ(served.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(waited.Value(), 0u);
  slow.Open();
  pool->shutdown();
  EXPECT_EQ(stats->threads.load(), 0);
}

TEST_F(PoolTest, BeyondTheMaximumConnectionsWaitAndAreCounted) {
  Gate slow;
  auto pool = std::make_unique<ElasticThreadPool>(ElasticThreadPool::Options{1, 4, 10000}, stats,
                                                  &waited, clock);
  for (int i = 0; i < 6; ++i) pool->enqueue(slow.Job());
  EXPECT_TRUE(Within(5s, [&] { return slow.started() == 4; }));
  // A negative cannot be awaited: give a fifth thread the chance to (wrongly) start.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(slow.started(), 4);
  EXPECT_EQ(waited.Value(), 2u);
  EXPECT_EQ(stats->threads.load(), 4);
  slow.Open();  // the waiting two run once threads are free, and shutdown runs what is queued
  EXPECT_TRUE(Within(5s, [&] { return slow.started() == 6; }));
  pool->shutdown();
}

TEST_F(PoolTest, ThreadsAboveTheMinimumEndWhenIdle) {
  Gate slow;
  auto pool = std::make_unique<ElasticThreadPool>(ElasticThreadPool::Options{2, 16, 50}, stats,
                                                  &waited, clock);
  for (int i = 0; i < 10; ++i) pool->enqueue(slow.Job());
  EXPECT_TRUE(Within(5s, [&] { return stats->threads.load() == 10; }));
  slow.Open();
  EXPECT_TRUE(Within(5s, [&] { return stats->threads.load() == 2; })) << stats->threads.load();
  EXPECT_EQ(stats->busy.load(), 0);
  pool->shutdown();
}

TEST_F(PoolTest, ShutdownRunsWhatIsQueuedThenEndsEveryThread) {
  std::atomic<int> ran{0};
  {
    ElasticThreadPool pool({1, 1, 10000}, stats, &waited, clock);
    for (int i = 0; i < 100; ++i) pool.enqueue([&] { ++ran; });
    pool.shutdown();
    EXPECT_EQ(ran.load(), 100);
    EXPECT_EQ(stats->threads.load(), 0);
    pool.enqueue([&] { ++ran; });  // after shutdown: dropped, as httplib never does this
  }
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
}  // namespace rl::common
