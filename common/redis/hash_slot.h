#pragma once

#include <cstdint>
#include <string_view>

namespace rl::common {

inline constexpr int kRedisClusterSlots = 16384;

// CRC16 as the Redis Cluster specification defines it (XMODEM: polynomial 0x1021, initial 0).
uint16_t Crc16(std::string_view data);

// The Redis Cluster hash slot of `key`: CRC16 of the hash tag (the text between the first '{' and
// the first '}' after it, if not empty) or else of the whole key, modulo 16384.
int HashSlot(std::string_view key);

}  // namespace rl::common
