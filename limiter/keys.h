#pragma once

#include <string>
#include <string_view>

namespace rl::limiter {

// Redis key of one bucket: "rl:{<user>}:<action>". The user part is percent-encoded for '%', '{'
// and '}', so the hash tag is exactly the encoded user (all of a user's keys share one Redis
// Cluster slot) and the mapping is injective for any user id. Actions never contain '{', '}'.
std::string BucketKey(std::string_view user_id, std::string_view action);

}  // namespace rl::limiter
