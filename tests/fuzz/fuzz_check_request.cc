// libFuzzer target: POST /check body parsing and validation must never crash, hang or leak,
// whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/base/identifiers.h"
#include "limiter/core/check_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = rl::limiter::ParseCheckRequest(body, 100);
  if (request.ok()) {
    // Whatever is accepted is a valid request.
    if (!request->api_key.empty() || !request->user_id.empty()) {
      if (!request->user_id.empty() && !rl::common::IsValidUserId(request->user_id))
        __builtin_trap();
      if (!rl::common::IsValidAction(request->action)) __builtin_trap();
      if (request->cost < 1 || request->cost > 100) __builtin_trap();
    } else {
      __builtin_trap();
    }
  }
  // A batch: every item it accepts is valid the same way.
  auto batch = rl::limiter::ParseBatchRequest(body, 100);
  if (batch.ok()) {
    if (batch->items.empty() || batch->items.size() > rl::limiter::kMaxBatchChecks)
      __builtin_trap();
    for (const auto& item : batch->items) {
      if (item.ok() && !rl::common::IsValidAction(item->action)) __builtin_trap();
    }
  }
  rl::common::IsValidUserId(body);
  return 0;
}
