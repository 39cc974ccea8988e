#include "interrupt.h"

#include <csignal>
#include <mutex>

namespace kiln::cli {

namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted.store(true); }

}  // namespace

void stop_on_interrupt() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action = {};
    action.sa_handler = on_sigint;
    action.sa_flags = SA_RESETHAND;  // the second Ctrl-C gets the default: kiln ends at once
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
  });
}

const std::atomic<bool>& interrupt_flag() { return g_interrupted; }

}  // namespace kiln::cli
