// The CUDA half of compile() (compile.cpp): the plans of every prepared batch size, built on
// the GPU with shared weights and tuned through the timing cache, the smallest verified
// against the model. Defined in CUDA builds only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/compile.h"

namespace kiln::engine {

// The imported model with one batch size (and the build's input size) bound, optimized;
// valid until the next call.
using GraphForBatch = std::function<Result<const ir::Graph*>(int64_t batch)>;

// Fills out.plans and out.cuda and out.metadata.build (tactics, verification); `reference`
// is the model as imported, null when options.verify is off.
Status compile_cuda(const GraphForBatch& graph_for_batch, const ir::Graph* reference, const BuildOptions& options,
                    const Progress& say, CompiledModel& out);

}  // namespace kiln::engine
