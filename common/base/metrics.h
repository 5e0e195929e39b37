#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rl::common {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Monotonic counter. Lock-free, thread-safe.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Value that goes up and down. Thread-safe.
class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Cumulative histogram with fixed upper bounds (seconds for latencies). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Snapshot for rendering: cumulative counts per bound, then +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (for +Inf)
  std::atomic<uint64_t> sum_micro_{0};               // sum in millionths, lock-free
};

// Default latency buckets in seconds, 100 µs .. 2.5 s.
std::vector<double> LatencyBuckets();

// Owns every metric of a process and renders the Prometheus text format (version 0.0.4).
// Registration is thread-safe; returned references stay valid for the registry's lifetime.
// Registering the same name and labels twice returns the same metric.
class MetricsRegistry {
 public:
  Counter& AddCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, const Labels& labels = {});
  // A gauge computed at scrape time; `fn` must be thread-safe and outlive the registry's use.
  void AddGaugeFn(const std::string& name, const std::string& help, const Labels& labels,
                  std::function<double()> fn);

  std::string RenderPrometheus() const;

 private:
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> fn;
  };
  struct Family {
    std::string help;
    std::string type;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series& FindOrAdd(const std::string& name, const std::string& help, const std::string& type,
                    const Labels& labels, bool* created);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace rl::common
