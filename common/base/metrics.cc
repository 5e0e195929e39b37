#include "common/base/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <tuple>

namespace rl::common {

void Counter::Inc(uint64_t n) { c_.Increment(static_cast<double>(n)); }
uint64_t Counter::Value() const { return static_cast<uint64_t>(c_.Value()); }

void Gauge::Set(int64_t v) { g_.Set(static_cast<double>(v)); }
void Gauge::Add(int64_t d) { g_.Increment(static_cast<double>(d)); }
int64_t Gauge::Value() const { return static_cast<int64_t>(g_.Value()); }

void Histogram::Observe(double value) { h_.Observe(value); }

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
}

struct MetricsRegistry::Impl {
  using Key = std::tuple<std::string, std::map<std::string, std::string>>;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::mutex mu;
  // The wrappers handed out, one per series, so that the same name and labels give the same one.
  std::map<Key, std::unique_ptr<Counter>> counters;
  std::map<Key, std::unique_ptr<Gauge>> gauges;
  std::map<Key, std::unique_ptr<Histogram>> histograms;
  std::vector<std::pair<prometheus::Gauge*, std::function<double()>>> gauge_fns;
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

namespace {

// The wrapper of one series, made on first use: `build` registers the family, `add` the series.
template <typename Wrapper, typename Slots, typename Build, typename AddSeries>
Wrapper& FindOrAdd(Slots& slots, const std::string& name, const Labels& labels, Build build,
                   AddSeries add) {
  const std::map<std::string, std::string> label_map(labels.begin(), labels.end());
  auto& slot = slots[{name, label_map}];
  if (!slot) slot = std::make_unique<Wrapper>(add(build(), label_map));
  return *slot;
}

}  // namespace

Counter& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  std::lock_guard lock(impl_->mu);
  return FindOrAdd<Counter>(
      impl_->counters, name, labels,
      [&]() -> auto& {
        return prometheus::BuildCounter().Name(name).Help(help).Register(*impl_->registry);
      },
      [](auto& family, const auto& l) -> auto& { return family.Add(l); });
}

Gauge& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  std::lock_guard lock(impl_->mu);
  return FindOrAdd<Gauge>(
      impl_->gauges, name, labels,
      [&]() -> auto& {
        return prometheus::BuildGauge().Name(name).Help(help).Register(*impl_->registry);
      },
      [](auto& family, const auto& l) -> auto& { return family.Add(l); });
}

Histogram& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds, const Labels& labels) {
  std::lock_guard lock(impl_->mu);
  return FindOrAdd<Histogram>(
      impl_->histograms, name, labels,
      [&]() -> auto& {
        return prometheus::BuildHistogram().Name(name).Help(help).Register(*impl_->registry);
      },
      [&](auto& family, const auto& l) -> auto& {
        return family.Add(l, prometheus::Histogram::BucketBoundaries(bounds));
      });
}

void MetricsRegistry::AddGaugeFn(const std::string& name, const std::string& help,
                                 const Labels& labels, std::function<double()> fn) {
  std::lock_guard lock(impl_->mu);
  auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(*impl_->registry);
  impl_->gauge_fns.emplace_back(&family.Add({labels.begin(), labels.end()}), std::move(fn));
}

std::string MetricsRegistry::RenderPrometheus() const {
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [gauge, fn] : impl_->gauge_fns) gauge->Set(fn());
  }
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace rl::common
