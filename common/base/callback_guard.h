#pragma once
// C libraries (librdkafka) call back into C++; no exception may unwind through their frames
// (undefined behaviour, in practice std::terminate). Every callback body runs through
// GuardCallback, which logs and counts whatever escapes and returns normally.

#include <cstdint>
#include <exception>

namespace rl::common {

// Logs an exception that reached a callback's edge (at error level) and counts it.
void NoteCallbackException(const char* where, const char* what) noexcept;

// How many exceptions callbacks have stopped, in this process: exported by every binary as
// rl_callback_exceptions (a problem to look into; never the normal case).
uint64_t CallbackExceptions() noexcept;

// Runs `body`; returns true if it returned normally, false if it threw (logged and counted).
template <typename Body>
bool GuardCallback(const char* where, Body&& body) noexcept {
  try {
    body();
    return true;
  } catch (const std::exception& e) {
    NoteCallbackException(where, e.what());
  } catch (...) {
    NoteCallbackException(where, "an exception of unknown type");
  }
  return false;
}

}  // namespace rl::common
