#include "common/base/iso_time.h"

#include <ctime>

namespace rl::common {

std::string IsoUtc(int64_t epoch_s) {
  const std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string IsoUtcMs(int64_t epoch_ms) {
  const int64_t s = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  const int ms = static_cast<int>(epoch_ms - s * 1000);
  std::string out = IsoUtc(s);
  char fraction[8];
  std::snprintf(fraction, sizeof(fraction), ".%03dZ", ms);
  out.pop_back();  // the 'Z'
  return out + fraction;
}

}  // namespace rl::common
