#pragma once
// The time units of Envoy's rate limit protocol and the reference service's config: an enum
// numbered as Envoy's RateLimitUnit (and RateLimitResponse.RateLimit.Unit, numbered alike), from
// the config file or the request to the answer, never a name or a number of seconds in between.

#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace rl::limiter {

enum class RateLimitUnit { kUnknown = 0, kSecond, kMinute, kHour, kDay, kMonth, kYear, kWeek };

// Name and length of each unit, indexed by RateLimitUnit. Month is 30 days and year 365, as the
// reference counts.
struct RateLimitUnitInfo {
  std::string_view name;
  int64_t window_ms;
};
inline constexpr int64_t kDayMs = 24LL * 3600 * 1000;
inline constexpr RateLimitUnitInfo kRateLimitUnits[] = {
    {"", 0},         {"second", 1000},       {"minute", 60 * 1000},  {"hour", 3600 * 1000},
    {"day", kDayMs}, {"month", 30 * kDayMs}, {"year", 365 * kDayMs}, {"week", 7 * kDayMs}};
inline constexpr int kRateLimitUnitCount = static_cast<int>(std::size(kRateLimitUnits));

// The unit of Envoy's number, if it names one (not UNKNOWN).
constexpr std::optional<RateLimitUnit> RateLimitUnitOf(int number) {
  if (number <= 0 || number >= kRateLimitUnitCount) return std::nullopt;
  return static_cast<RateLimitUnit>(number);
}
// The unit a (lower-case) name names, if any.
constexpr std::optional<RateLimitUnit> ParseRateLimitUnit(std::string_view name) {
  for (int u = 1; u < kRateLimitUnitCount; ++u) {
    if (kRateLimitUnits[u].name == name) return static_cast<RateLimitUnit>(u);
  }
  return std::nullopt;
}
constexpr std::string_view UnitName(RateLimitUnit unit) {
  return kRateLimitUnits[static_cast<int>(unit)].name;
}
// The unit's length; 0 for kUnknown.
constexpr int64_t UnitWindowMs(RateLimitUnit unit) {
  return kRateLimitUnits[static_cast<int>(unit)].window_ms;
}

}  // namespace rl::limiter
