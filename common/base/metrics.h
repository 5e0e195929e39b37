#pragma once
// The metrics of a process, on prometheus-cpp's core (Debian's prometheus-cpp-dev): its registry,
// metric types and text serializer, behind the small interface the code uses. GET /metrics serves
// RenderPrometheus() on the existing HTTP server (no prometheus-cpp pull exposer).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace rl::common {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Monotonic counter. Thread-safe.
class Counter {
 public:
  explicit Counter(prometheus::Counter& c) : c_(c) {}
  void Inc(uint64_t n = 1);
  uint64_t Value() const;

 private:
  prometheus::Counter& c_;
};

// Value that goes up and down. Thread-safe.
class Gauge {
 public:
  explicit Gauge(prometheus::Gauge& g) : g_(g) {}
  void Set(int64_t v);
  void Add(int64_t d);
  int64_t Value() const;

 private:
  prometheus::Gauge& g_;
};

// Cumulative histogram with fixed upper bounds (seconds for latencies). Thread-safe.
class Histogram {
 public:
  explicit Histogram(prometheus::Histogram& h) : h_(h) {}
  void Observe(double value);

 private:
  prometheus::Histogram& h_;
};

// Default latency buckets in seconds, 100 µs .. 2.5 s.
std::vector<double> LatencyBuckets();

// Owns every metric of a process and renders the Prometheus text format (version 0.0.4).
// Registration is thread-safe; returned references stay valid for the registry's lifetime.
// Registering the same name and labels twice returns the same metric.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();

  Counter& AddCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, const Labels& labels = {});
  // A gauge computed at scrape time; `fn` must be thread-safe and outlive the registry's use.
  void AddGaugeFn(const std::string& name, const std::string& help, const Labels& labels,
                  std::function<double()> fn);

  std::string RenderPrometheus() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rl::common
