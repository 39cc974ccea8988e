// Ctrl-C while videos, streams or a folder run: the first SIGINT asks the loops to stop
// after the frames or images in hand, so everything done so far is written as after a
// normal end (the way to end a live stream); a second one ends kiln at once.
#pragma once

#include <atomic>

namespace kiln::cli {

// Installs the handler (once; later calls do nothing).
void stop_on_interrupt();
// Set by the first SIGINT after stop_on_interrupt().
const std::atomic<bool>& interrupt_flag();

}  // namespace kiln::cli
