#include "limiter/front/descriptor_stats.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/base/digest.h"

namespace rl::limiter {

DescriptorHits CountHits(const CheckResult& result, int64_t hits, double near_limit_ratio) {
  DescriptorHits h;
  h.total = hits;
  switch (result.verdict) {
    case Verdict::kAllowed: {
      h.within_limit = hits;
      // The reference's near-limit threshold: NEAR_LIMIT_RATIO (80%) of the limit, rounded down.
      // Only the hits past it count.
      const auto threshold = static_cast<int64_t>(static_cast<double>(result.limit) *
                                                  near_limit_ratio);
      const int64_t used = result.limit - result.remaining;
      h.near_limit = std::clamp<int64_t>(used - threshold, 0, hits);
      break;
    }
    case Verdict::kBlocked:
    case Verdict::kBanned: {
      // As the reference: when the limit was not used up before these hits, only those past it
      // are over the limit, and those between the near-limit threshold (or what was used, if
      // more) and the limit are near it. A blocked request charges nothing here, so `remaining`
      // is what was left before it.
      const int64_t used = result.limit - result.remaining;
      if (result.verdict == Verdict::kBanned || result.remaining <= 0 || used >= result.limit) {
        h.over_limit = hits;
      } else {
        const auto threshold = static_cast<int64_t>(static_cast<double>(result.limit) *
                                                    near_limit_ratio);
        h.over_limit = used + hits - result.limit;
        h.near_limit = result.limit - std::max(threshold, used);
      }
      break;
    }
    case Verdict::kShadowBlocked:
      h.over_limit = hits;
      h.shadow_mode = hits;
      break;
    default:  // fail modes: no limit state to count against
      break;
  }
  return h;
}

DescriptorStats::DescriptorStats(common::MetricsRegistry& metrics, const common::Clock& clock,
                                 size_t max_series, double near_limit_ratio)
    : metrics_(metrics),
      max_series_(max_series),
      near_limit_ratio_(near_limit_ratio),
      overflow_log_(clock, 60'000),
      global_shadow_mode_(metrics.AddCounter(
          "rl_descriptor_global_shadow_mode_total",
          "Envoy rate limit answers over the limit that SHADOW_MODE answered OK")) {}

DescriptorStats::Series& DescriptorStats::Find(const std::string& domain,
                                               const std::string& descriptor) {
  // A detailed_metric label quotes request values: a long one keeps its start and a digest.
  const std::string bounded = descriptor.size() <= kMaxDescriptorLabelBytes
                                  ? descriptor
                                  : descriptor.substr(0, kMaxDescriptorLabelBytes - 18) + "~" +
                                        common::Sha256Hex(descriptor, 16);
  std::string id = domain + '\0' + bounded;
  std::lock_guard lock(mu_);
  if (auto it = series_.find(id); it != series_.end()) return it->second;
  std::string label = bounded;
  if (series_.size() >= max_series_) {
    label = "_overflow";
    id = domain + '\0' + label;
    uint64_t suppressed = 0;
    if (overflow_log_.ShouldLog(&suppressed)) {
      spdlog::warn(
          "descriptor statistics: {} series reached; domain {} descriptor {} is counted as "
          "_overflow ({} similar not logged)",
          max_series_, domain, descriptor.substr(0, 200), suppressed);
    }
    if (auto it = series_.find(id); it != series_.end()) return it->second;
  }
  const common::Labels labels = {{"domain", domain}, {"descriptor", label}};
  auto counter = [&](const char* name, const char* help) {
    return &metrics_.AddCounter(name, help, labels);
  };
  Series s{
      counter("rl_descriptor_hits_total", "Hits of a configured descriptor limit (gRPC and /json)"),
      counter("rl_descriptor_over_limit_hits_total",
              "Hits refused, or refused but for shadow mode"),
      counter("rl_descriptor_near_limit_hits_total", "Hits admitted past 80% of the limit"),
      counter("rl_descriptor_within_limit_hits_total", "Hits admitted"),
      counter("rl_descriptor_shadow_mode_hits_total", "Hits refused but for shadow mode"),
  };
  return series_.emplace(std::move(id), s).first->second;
}

void DescriptorStats::Record(const std::string& domain, const std::string& descriptor,
                             const CheckResult& result, int64_t hits) {
  const DescriptorHits h = CountHits(result, hits, near_limit_ratio_);
  Series& s = Find(domain, descriptor);
  s.total->Inc(h.total);
  if (h.over_limit) s.over_limit->Inc(h.over_limit);
  if (h.near_limit) s.near_limit->Inc(h.near_limit);
  if (h.within_limit) s.within_limit->Inc(h.within_limit);
  if (h.shadow_mode) s.shadow_mode->Inc(h.shadow_mode);
}

}  // namespace rl::limiter
