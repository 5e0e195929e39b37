#pragma once
// The reference service's per-descriptor statistics (envoyproxy/ratelimit's
// ratelimit.service.rate_limit.<domain>.<descriptor>.{total_hits,over_limit,near_limit,
// within_limit,shadow_mode}), as Prometheus counters with `domain` and `descriptor` labels:
//   rl_descriptor_hits_total, rl_descriptor_over_limit_hits_total,
//   rl_descriptor_near_limit_hits_total, rl_descriptor_within_limit_hits_total,
//   rl_descriptor_shadow_mode_hits_total.
// `descriptor` is the config's key path ("key1_value1.subkey1"), or the request's own values when
// the limit has `detailed_metric: true` (DescriptorStatKey). Hits are counted, not requests.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/base/clock.h"
#include "common/base/logging.h"
#include "common/base/metrics.h"
#include "limiter/core/decision_service.h"

namespace rl::limiter {

// How the hits of one decision count, by the reference's rules. Pure.
struct DescriptorHits {
  int64_t total = 0;
  int64_t over_limit = 0;    // refused, or refused but for shadow mode
  int64_t near_limit = 0;    // admitted past 80% of the limit
  int64_t within_limit = 0;  // admitted
  int64_t shadow_mode = 0;   // refused but for shadow mode
};
DescriptorHits CountHits(const CheckResult& result, int64_t hits, double near_limit_ratio = 0.8);

inline constexpr size_t kMaxDescriptorLabelBytes = 256;

class DescriptorStats {
 public:
  // detailed_metric labels carry request values, so memory is bounded: a label longer than
  // kMaxDescriptorLabelBytes keeps its start and a digest, and past `max_series` distinct
  // descriptors further ones are counted under descriptor="_overflow" with a warn log.
  // `near_limit_ratio` (DESCRIPTOR_NEAR_LIMIT_RATIO, the reference's NEAR_LIMIT_RATIO): hits past
  // this share of a limit are near it.
  DescriptorStats(common::MetricsRegistry& metrics, const common::Clock& clock,
                  size_t max_series = 10000, double near_limit_ratio = 0.8);

  // Counts one answer whose OVER_LIMIT SHADOW_MODE turned into OK. Thread-safe.
  void RecordGlobalShadowMode() { global_shadow_mode_.Inc(); }

  // Counts one decision of a descriptor that a configured limit decided. Thread-safe.
  void Record(const std::string& domain, const std::string& descriptor, const CheckResult& result,
              int64_t hits);

 private:
  struct Series {
    common::Counter* total;
    common::Counter* over_limit;
    common::Counter* near_limit;
    common::Counter* within_limit;
    common::Counter* shadow_mode;
  };
  Series& Find(const std::string& domain, const std::string& descriptor);

  common::MetricsRegistry& metrics_;
  const size_t max_series_;
  const double near_limit_ratio_;
  std::mutex mu_;
  std::unordered_map<std::string, Series> series_;  // by domain '\0' descriptor
  common::LogThrottle overflow_log_;
  common::Counter& global_shadow_mode_;
};

}  // namespace rl::limiter
