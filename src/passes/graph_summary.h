// A summary of a graph for `kiln info`: inputs/outputs, op histogram, parameter count and
// a FLOPs estimate. FLOPs need static shapes: run shape inference (with bound dims) first.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

struct TensorSummary {
  std::string name;
  ir::DType dtype = ir::DType::kFloat32;
  std::optional<ir::Shape> shape;
};

struct GraphSummary {
  std::vector<TensorSummary> inputs, outputs;
  std::map<std::string, int64_t> op_histogram;
  int64_t node_count = 0;
  // Elements of the constant weights of Conv/ConvTranspose/ConvInteger/Gemm/MatMul/
  // BatchNormalization (inputs after the first) and of DequantizeLinear's constant input.
  int64_t parameter_count = 0;            // float weights
  int64_t quantized_parameter_count = 0;  // int8/uint8 weights
  // Conv-like: 2*N*Cout*Hout*Wout*(Cin/groups)*kh*kw; MatMul/Gemm: 2*M*N*K;
  // elementwise, activations, pools, resize: ~one per output element.
  double flops = 0;
  int64_t nodes_without_shapes = 0;  // nodes whose FLOPs could not be counted
  std::map<std::string, std::string> metadata;

  double gflops() const { return flops / 1e9; }
  // Several lines of human-readable text.
  std::string to_text() const;
};

GraphSummary summarize(const ir::Graph& graph);

}  // namespace kiln::passes
