// fn(0), ..., fn(n - 1) on the calling thread and helper threads, with one process-wide budget
// of helpers: callers on several threads at once (model instances serving side by side) share
// it, so together they never run more than the usable cores minus one helpers, and a caller
// that finds the budget spent does the work alone. For items of milliseconds each (decoding a
// batch's images): a helper is a thread started for the call.
#pragma once

#include <cstddef>
#include <functional>

namespace kiln::core {

// `fn` must be safe to call concurrently for different indices and must not throw (kiln's
// calls return Result); each index is called exactly once, in no particular order.
void parallel_for(size_t n, const std::function<void(size_t)>& fn);

// Helpers the budget holds when none is in use: usable_cores() minus one (0 on one core).
size_t parallel_for_helpers();

}  // namespace kiln::core
