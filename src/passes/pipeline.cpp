#include "passes/pipeline.h"

#include "passes/constant_folding.h"
#include "passes/dead_code_elimination.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_silu.h"
#include "passes/shape_inference.h"

namespace kiln::passes {

Status optimize(ir::Graph& graph, const OptimizeOptions& options) {
  KILN_ASSIGN_OR_RETURN(ShapeValues known, infer_shapes(graph, options.bind_dims));
  KILN_RETURN_IF_ERROR(fold_constants(graph, &known).status());
  if (options.fold_batchnorm) KILN_RETURN_IF_ERROR(fold_batchnorm(graph).status());
  if (options.fuse_silu) fuse_silu(graph);
  eliminate_dead_code(graph);
  // The rewrites changed which values exist; refresh every shape for the backends.
  return infer_shapes(graph).status();
}

}  // namespace kiln::passes
