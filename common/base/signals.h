#pragma once

#include <functional>

namespace rl::common {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it creates later.
// Call first thing in main(), before any thread starts.
void BlockTerminationSignals();

// Waits (in the calling thread) for SIGTERM or SIGINT; returns the signal number.
// SIGHUP is passed to `on_hangup` if given, then waiting continues.
int WaitForTerminationSignal(const std::function<void()>& on_hangup = nullptr);

}  // namespace rl::common
