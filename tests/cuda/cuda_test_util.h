// Helpers for the CUDA backend tests: skip without a GPU, random tensors, and running one
// node through both the CPU reference executor and a CUDA engine.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "backends/cuda/engine.h"
#include "ir/graph.h"

#define KILN_REQUIRE_GPU()                                                         \
  do {                                                                             \
    if (!::kiln::cuda::gpu_available()) GTEST_SKIP() << "no CUDA device available"; \
  } while (0)

namespace kiln::cuda::test {

inline ir::Tensor random_tensor(std::vector<int64_t> shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  ir::Tensor t(ir::DType::kFloat32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

struct NodeCase {
  std::string op_type;
  std::vector<ir::Tensor> inputs;                  // runtime (graph) inputs, in order
  std::map<size_t, ir::Tensor> constants;          // input index -> constant (weights, sizes)
  size_t num_inputs = 0;                           // total node inputs (runtime + constants)
  size_t num_outputs = 1;
  std::map<std::string, ir::AttrValue> attrs;
  std::string then_op;                             // optional unary op applied to output 0 (e.g. "SiLU")
};

// Adds the case's node on `ins` with its outputs (shaped from `out_shapes` where given) as
// the graph's outputs; returns them.
inline std::vector<ir::Value*> add_case_node(ir::Graph& g, const NodeCase& c, const std::vector<ir::Value*>& ins,
                                             const std::vector<std::vector<int64_t>>& out_shapes) {
  std::vector<ir::Value*> outs;
  for (size_t i = 0; i < c.num_outputs; ++i) {
    ir::Value* v = g.add_value("out" + std::to_string(i));
    if (i < out_shapes.size()) v->shape = ir::make_shape(out_shapes[i]);
    outs.push_back(v);
  }
  ir::Node* n = g.add_node(c.op_type, "node0", ins, outs);
  n->attrs = c.attrs;
  g.outputs = outs;
  return outs;
}

// Builds the graph; output shapes come from a CPU run so the CUDA planner sees static shapes.
inline ir::Graph make_graph(const NodeCase& c, const std::vector<std::vector<int64_t>>& out_shapes = {}) {
  ir::Graph g;
  std::vector<ir::Value*> ins;
  size_t next_runtime = 0;
  for (size_t i = 0; i < c.num_inputs; ++i) {
    auto it = c.constants.find(i);
    if (it != c.constants.end()) {
      ins.push_back(g.add_constant("c" + std::to_string(i), it->second));
      continue;
    }
    const ir::Tensor& t = c.inputs.at(next_runtime++);
    ir::Value* v = g.add_value("in" + std::to_string(i));
    v->dtype = t.dtype();
    v->shape = ir::make_shape(t.shape());
    g.inputs.push_back(v);
    ins.push_back(v);
  }
  const std::vector<ir::Value*> outs = add_case_node(g, c, ins, out_shapes);
  if (!c.then_op.empty()) {
    ir::Value* v = g.add_value("act0");
    if (!out_shapes.empty()) v->shape = ir::make_shape(out_shapes[0]);
    g.add_node(c.then_op, "node1", {outs[0]}, {v});
    g.outputs[0] = v;
  }
  return g;
}

// Max |got - ref| over the reference's value range (the metric every CUDA test uses).
inline double relative_max_error(const ir::Tensor& got, const ir::Tensor& ref) {
  EXPECT_EQ(got.shape(), ref.shape());
  if (got.shape() != ref.shape()) return 1e30;
  const float* a = got.data<float>();
  const float* b = ref.data<float>();
  double max_abs = 0, lo = 1e30, hi = -1e30;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    if (!std::isfinite(a[i])) return 1e30;
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(a[i] - b[i])));
    lo = std::min(lo, static_cast<double>(b[i]));
    hi = std::max(hi, static_cast<double>(b[i]));
  }
  return max_abs / std::max(hi - lo, 1e-6);
}

// Rows [r0, r1) of a [N, rows, cols] tensor, the relative_max_error metric.
inline double row_group_error(const ir::Tensor& got, const ir::Tensor& ref, int64_t r0, int64_t r1) {
  const int64_t n = ref.dim(0), rows = ref.dim(1), cols = ref.dim(2);
  double max_abs = 0, lo = 1e30, hi = -1e30;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t i = (b * rows + r) * cols + c;
        const float x = got.data<float>()[i], y = ref.data<float>()[i];
        if (!std::isfinite(x)) return 1e30;
        max_abs = std::max(max_abs, static_cast<double>(std::fabs(x - y)));
        lo = std::min(lo, static_cast<double>(y));
        hi = std::max(hi, static_cast<double>(y));
      }
  return max_abs / std::max(hi - lo, 1e-6);
}

// Build options for tests: tuning on (the default path), with a timing cache file of the
// test run's own instead of the user's ~/.cache/kiln.
inline BuildOptions test_build_options(Precision precision) {
  BuildOptions opt;
  opt.precision = precision;
  opt.timing_cache_path = ::testing::TempDir() + "kiln_cuda_tests_timing_cache.tsv";
  return opt;
}

struct BothResults {
  std::vector<ir::Tensor> cpu, cuda;
  std::vector<Tactic> tactics;
};

using GraphMaker = std::function<ir::Graph(const std::vector<std::vector<int64_t>>& out_shapes)>;

// Runs the graph `make` builds on the CPU reference first (its output shapes complete the
// graph the CUDA planner sees), then on CUDA at `precision` with NaN-poisoned outputs, so an
// unwritten element cannot pass. direct_conv: convs run our direct kernel instead of cuDNN;
// `adjust` changes other build options (e.g. an INT8 engine's float parts).
inline BothResults run_graph_both(const GraphMaker& make, const std::vector<ir::Tensor>& inputs, Precision precision,
                                  bool direct_conv = false, const std::function<void(BuildOptions&)>& adjust = {}) {
  BothResults r;
  const ir::Graph ref_graph = make({});
  auto cpu = cpu::Executor::create(ref_graph);
  EXPECT_TRUE(cpu.ok()) << cpu.status().message();
  if (!cpu.ok()) return r;
  auto cpu_out = cpu->run(inputs);
  EXPECT_TRUE(cpu_out.ok()) << cpu_out.status().message();
  if (!cpu_out.ok()) return r;
  r.cpu = std::move(*cpu_out);
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& t : r.cpu) shapes.push_back(t.shape());
  const ir::Graph g = make(shapes);
  BuildOptions opt = test_build_options(precision);
  opt.direct_conv = direct_conv;
  // A lone non-conv op would be all FP32 tail (fp32_tail.h): test it at the precision asked.
  opt.fp32_tail = false;
  if (adjust) adjust(opt);
  auto engine = Engine::build(g, opt);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  if (!engine.ok()) return r;
  r.tactics = (*engine)->tactics();
  auto ctx = ExecutionContext::create(**engine);
  EXPECT_TRUE(ctx.ok()) << ctx.status().message();
  if (!ctx.ok()) return r;
  for (size_t i = 0; i < (*engine)->num_outputs(); ++i) {
    int64_t n = 1;
    for (int64_t d : (*engine)->output_dims(i)) n *= d;
    EXPECT_EQ(cudaMemset(const_cast<float*>((*ctx)->output(i)), 0xFF, n * sizeof(float)), cudaSuccess);
  }
  auto out = (*ctx)->run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (out.ok()) r.cuda = std::move(*out);
  return r;
}

// Runs the single-node case on the CPU reference, then on CUDA at `precision`.
inline BothResults run_both(const NodeCase& c, Precision precision, bool direct_conv = false) {
  return run_graph_both([&](const auto& shapes) { return make_graph(c, shapes); }, c.inputs, precision, direct_conv);
}

// Every output of the CUDA run within `tol` (relative_max_error) of the CPU's; `route` names
// how the case ran in the messages (e.g. " after conv").
inline void expect_outputs_close(const BothResults& r, const NodeCase& c, Precision p, double tol,
                                 const std::string& route = "") {
  ASSERT_EQ(r.cuda.size(), r.cpu.size());
  ASSERT_FALSE(r.cpu.empty());
  std::string tactics;
  for (const auto& t : r.tactics) tactics += " [" + t.node + ": " + t.tactic + "]";
  for (size_t i = 0; i < r.cpu.size(); ++i) {
    const double err = relative_max_error(r.cuda[i], r.cpu[i]);
    std::cout << c.op_type << route << " " << to_string(p) << " output " << i << " error " << err << std::endl;
    EXPECT_LE(err, tol) << c.op_type << route << " output " << i << " " << to_string(p) << tactics;
  }
}

}  // namespace kiln::cuda::test
