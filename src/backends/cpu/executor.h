// Runs an ir::Graph on the CPU, node by node, freeing each intermediate after its last use.
#pragma once

#include <functional>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/graph.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::cpu {

class Executor {
 public:
  // Fails (Unsupported, naming op and node) if any node has no CPU kernel.
  // The graph must outlive the executor.
  static Result<Executor> create(const ir::Graph& graph);

  // Sees each value a node computed, right after the node ran (before it is freed):
  // calibration gathers activation statistics through it.
  using Observer = std::function<void(const ir::Value&, const ir::Tensor&)>;

  // Inputs in graph-input order; outputs in graph-output order. Wrong input count,
  // dtype or rank is an InvalidArgument naming the input.
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs, const Observer& observer = {}) const;

 private:
  explicit Executor(const ir::Graph* graph) : graph_(graph) {}
  const ir::Graph* graph_;
  std::vector<Kernel> kernels_;                        // one per graph node, in node order
  std::vector<std::vector<const ir::Value*>> frees_;   // values dead after each node
};

}  // namespace kiln::cpu
