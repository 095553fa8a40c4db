// Waiting for SIGINT/SIGTERM in long-running commands (hub, node) without async-signal-unsafe
// work in a handler: the signals are blocked in every thread and one thread waits for them.
#pragma once

#include <functional>

namespace passerelle::cli {

// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later), then runs
// `serve` on the calling thread; the first signal calls `stop` from a helper thread. Returns when
// `serve` returns.
void ServeUntilSignal(const std::function<void()>& serve, const std::function<void()>& stop);

}  // namespace passerelle::cli
