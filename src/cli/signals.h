// Waiting for SIGINT/SIGTERM in long-running commands (hub, node) without async-signal-unsafe
// work in a handler: the signals are blocked in every thread and one thread waits for them.
#pragma once

#include <functional>

namespace passerelle::cli {

// Blocks SIGINT, SIGTERM (and SIGUSR1, used internally) in the calling thread and the threads it
// starts afterwards. Call it first thing in a long-running command, before any library starts a
// thread (DuckDB's pool, the hub's loop): a thread that does not block them would die of them.
void BlockStopSignals();

// REQUIRES: BlockStopSignals() was called before any thread started. Runs `serve` on the calling
// thread; the first SIGINT/SIGTERM calls `stop` from a helper thread. Returns when `serve` returns.
void ServeUntilSignal(const std::function<void()>& serve, const std::function<void()>& stop);

}  // namespace passerelle::cli
