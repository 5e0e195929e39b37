#include "limiter/core/algorithm/algorithms.h"

#include <cmath>

namespace rl::limiter {
namespace {

constexpr std::pair<Algorithm, std::string_view> kNames[] = {
    {Algorithm::kTokenBucket, "token_bucket"},
    {Algorithm::kGcra, "gcra"},
    {Algorithm::kSlidingWindowLog, "sliding_window_log"},
    {Algorithm::kSlidingWindowCounter, "sliding_window_counter"},
    {Algorithm::kFixedWindow, "fixed_window"},
    {Algorithm::kLeakyBucket, "leaky_bucket"},
};

}  // namespace

std::string_view AlgorithmName(Algorithm a) {
  for (const auto& [algorithm, name] : kNames) {
    if (algorithm == a) return name;
  }
  return "unknown";
}

std::optional<Algorithm> ParseAlgorithm(std::string_view name) {
  for (const auto& [algorithm, n] : kNames) {
    if (n == name) return algorithm;
  }
  return std::nullopt;
}

std::optional<std::string> LimitError(Algorithm algorithm, int64_t limit) {
  constexpr int64_t kMaxLogEntries = 100000;
  if (algorithm == Algorithm::kSlidingWindowLog && limit > kMaxLogEntries) {
    return "sliding_window_log keeps one entry per request: at most " +
           std::to_string(kMaxLogEntries);
  }
  return std::nullopt;
}

const std::string& AlgorithmNames() {
  static const std::string names = [] {
    std::string joined;
    for (const auto& [algorithm, name] : kNames) {
      if (!joined.empty()) joined += ", ";
      joined += name;
    }
    return joined;
  }();
  return names;
}

std::string StateSchema(const LimitParams& p) {
  switch (p.algorithm) {
    case Algorithm::kTokenBucket:
      return "tb";
    case Algorithm::kLeakyBucket:
      return "lb";
    case Algorithm::kSlidingWindowLog:
      return "swl";
    case Algorithm::kFixedWindow:
      return "fw" + std::to_string(p.window_ms);
    case Algorithm::kSlidingWindowCounter:
      return "swc" + std::to_string(p.window_ms);
    case Algorithm::kGcra:
      // The emission interval in whole nanoseconds: rates closer than that share the state.
      return "gcra" + std::to_string(std::llround(1000.0 / p.RatePerUs()));
  }
  return "unknown";
}

}  // namespace rl::limiter
