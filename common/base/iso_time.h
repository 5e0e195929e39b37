#pragma once
// Times as people read them: ISO 8601 in UTC ("2026-11-24T11:37:00Z").

#include <cstdint>
#include <string>

namespace rl::common {

// Seconds since the Unix epoch as "YYYY-MM-DDTHH:MM:SSZ". Pure.
std::string IsoUtc(int64_t epoch_s);
// Milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". Pure.
std::string IsoUtcMs(int64_t epoch_ms);

}  // namespace rl::common
