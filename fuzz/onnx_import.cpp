// ONNX importer + shape inference on arbitrary bytes: every input must give a graph or a
// Status, never a crash, an exception or an unbounded allocation.
#include <cstdint>
#include <span>

#include "fuzz_util.h"
#include "onnx/importer.h"
#include "passes/shape_inference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln::Result<kiln::ir::Graph> g =
      kiln::onnx::import_model_bytes(std::span(data, size), "fuzz.onnx", kiln::fuzz::scratch_dir());
  if (g.ok()) (void)kiln::passes::infer_shapes(*g);
  return 0;
}
