// The standard pass pipeline run on every imported model before it is executed or built.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::passes {

struct OptimizeOptions {
  // Concrete values for symbolic input dims (e.g. {"batch", 1}); shapes that become
  // static let constant folding remove the shape subgraphs of dynamic exports.
  std::map<std::string, int64_t> bind_dims;
  bool fold_batchnorm = true;
  bool fuse_silu = true;
};

// shape inference -> constant folding -> Conv+BN folding -> SiLU fusion -> DCE ->
// shape inference. Errors name the node that failed.
Status optimize(ir::Graph& graph, const OptimizeOptions& options = {});

}  // namespace kiln::passes
