// libFuzzer target: decoding a Kafka message and folding it into analytics increments must never
// crash, hang or leak, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "analytics-worker/aggregator.h"
#include "proto-events/event_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decision =
      rl::events::DecodeDecision(std::string_view(reinterpret_cast<const char*>(data), size));
  if (decision) {
    auto ops = rl::analytics::AggregateDecisions({*decision}, 1440);
    if (ops.empty()) __builtin_trap();  // a decoded decision always counts somewhere
  }
  return 0;
}
