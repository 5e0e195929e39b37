#include "common/base/callback_guard.h"

#include <spdlog/spdlog.h>

#include <atomic>

namespace rl::common {
namespace {
std::atomic<uint64_t> callback_exceptions{0};
}  // namespace

void NoteCallbackException(const char* where, const char* what) noexcept {
  callback_exceptions.fetch_add(1, std::memory_order_relaxed);
  try {
    spdlog::error("{}: an exception reached the callback's edge and was stopped: {}", where, what);
  } catch (...) {  // logging itself failed: the count still says it happened
  }
}

uint64_t CallbackExceptions() noexcept {
  return callback_exceptions.load(std::memory_order_relaxed);
}

}  // namespace rl::common
