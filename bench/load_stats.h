#pragma once
// What both load generators (check_load, grpc_load) report the same way: their own CPU, and
// latency percentiles.

#include <sys/resource.h>

#include <cstddef>
#include <vector>

namespace rl::bench {

// This process's CPU time so far (user + system), in seconds.
inline double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The `p` percentile (0..1) of `sorted`, 0 if empty.
inline double Percentile(const std::vector<double>& sorted, double p) {
  return sorted.empty() ? 0.0 : sorted[static_cast<size_t>(p * (sorted.size() - 1))];
}

}  // namespace rl::bench
