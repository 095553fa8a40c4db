#include "cli/signals.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "common/log.h"

namespace passerelle::cli {

namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // internal: wakes the waiter when serve() ends by itself
  return set;
}

}  // namespace

void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void ServeUntilSignal(const std::function<void()>& serve, const std::function<void()>& stop) {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    if (!done && sig != SIGUSR1) {
      log::Info("received signal {}: stopping", sig);
      stop();
    }
  });
  serve();
  done = true;
  pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
}

}  // namespace passerelle::cli
