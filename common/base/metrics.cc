#include "common/base/metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace rl::common {
namespace {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string RenderLabels(const Labels& labels, const std::string& extra_key = "",
                         const std::string& extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    out += (first ? "" : ",") + k + "=\"" + EscapeLabelValue(v) + "\"";
    first = false;
  }
  if (!extra_key.empty()) out += (first ? "" : ",") + extra_key + "=\"" + extra_value + "\"";
  return out + "}";
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(12);
  s << v;
  return s.str();
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<uint64_t>(std::max(0.0, value) * 1e6),
                       std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

double Histogram::Sum() const { return static_cast<double>(sum_micro_.load()) / 1e6; }

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
}

MetricsRegistry::Series& MetricsRegistry::FindOrAdd(const std::string& name,
                                                    const std::string& help,
                                                    const std::string& type, const Labels& labels,
                                                    bool* created) {
  Family& family = families_[name];
  if (family.type.empty()) {
    family.help = help;
    family.type = type;
  } else if (family.type != type) {
    throw std::logic_error("metric " + name + " registered with two types");  // start-up bug
  }
  for (auto& s : family.series) {
    if (s->labels == labels) {
      *created = false;
      return *s;
    }
  }
  family.series.push_back(std::make_unique<Series>());
  family.series.back()->labels = labels;
  *created = true;
  return *family.series.back();
}

Counter& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  std::lock_guard lock(mu_);
  bool created;
  Series& s = FindOrAdd(name, help, "counter", labels, &created);
  if (created) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  std::lock_guard lock(mu_);
  bool created;
  Series& s = FindOrAdd(name, help, "gauge", labels, &created);
  if (created) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds, const Labels& labels) {
  std::lock_guard lock(mu_);
  bool created;
  Series& s = FindOrAdd(name, help, "histogram", labels, &created);
  if (created) s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

void MetricsRegistry::AddGaugeFn(const std::string& name, const std::string& help,
                                 const Labels& labels, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  bool created;
  Series& s = FindOrAdd(name, help, "gauge", labels, &created);
  s.fn = std::move(fn);
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& s : family.series) {
      if (s->counter) {
        out += name + RenderLabels(s->labels) + " " + std::to_string(s->counter->Value()) + "\n";
      } else if (s->gauge) {
        out += name + RenderLabels(s->labels) + " " + std::to_string(s->gauge->Value()) + "\n";
      } else if (s->fn) {
        out += name + RenderLabels(s->labels) + " " + FormatDouble(s->fn()) + "\n";
      } else if (s->histogram) {
        const auto& bounds = s->histogram->bounds();
        auto counts = s->histogram->CumulativeCounts();
        for (size_t i = 0; i < bounds.size(); ++i) {
          out += name + "_bucket" + RenderLabels(s->labels, "le", FormatDouble(bounds[i])) + " " +
                 std::to_string(counts[i]) + "\n";
        }
        out += name + "_bucket" + RenderLabels(s->labels, "le", "+Inf") + " " +
               std::to_string(counts.back()) + "\n";
        out += name + "_sum" + RenderLabels(s->labels) + " " + FormatDouble(s->histogram->Sum()) +
               "\n";
        out +=
            name + "_count" + RenderLabels(s->labels) + " " + std::to_string(counts.back()) + "\n";
      }
    }
  }
  return out;
}

}  // namespace rl::common
