// Concat and Split as views (src/backends/cuda/concat_views.h) on a YOLO C2f block: the
// convs write into the Concat's buffer and the Split's outputs are views of it, so neither
// has a step, and the result still matches the CPU reference. A second consumer that needs
// packed tensors takes the copy path instead and must match too.
#include <gtest/gtest.h>

#include <string>

#include "cuda_test_util.h"

namespace kiln::cuda::test {
namespace {

constexpr int64_t kN = 2, kC = 16, kH = 12, kW = 10, kHalf = 32, kOut = 48;

// x -> pre (3x3 conv + SiLU) -> cv1 (1x1, 2*kHalf, SiLU) -> Split -> y0, y1;
// m0: y1 -> conv -> conv -> + y1 = y2 (shortcut); m1: y2 -> conv -> conv = y3 (none);
// Concat(y0, y1, y2, y3) -> cv2 (1x1 + SiLU). With `sigmoid_of_y1`, y1 also feeds a
// Sigmoid that is a second graph output.
ir::Graph c2f_graph(bool sigmoid_of_y1) {
  ir::Graph g;
  uint32_t seed = 100;
  auto value = [&](const std::string& name, int64_t c) {
    ir::Value* v = g.add_value(name);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({kN, c, kH, kW});
    return v;
  };
  auto conv_silu = [&](const std::string& name, ir::Value* in, int64_t cin, int64_t cout, int64_t k) {
    ir::Value* w = g.add_constant(name + ".w", random_tensor({cout, cin, k, k}, seed++, -0.3f, 0.3f));
    ir::Value* b = g.add_constant(name + ".b", random_tensor({cout}, seed++, -0.2f, 0.2f));
    ir::Value* y = value(name + ".conv", cout);
    ir::Node* n = g.add_node("Conv", name, {in, w, b}, {y});
    const int64_t p = k / 2;
    n->attrs = {{"kernel_shape", std::vector<int64_t>{k, k}},
                {"strides", std::vector<int64_t>{1, 1}},
                {"pads", std::vector<int64_t>{p, p, p, p}},
                {"dilations", std::vector<int64_t>{1, 1}},
                {"group", int64_t{1}}};
    ir::Value* a = value(name + ".act", cout);
    g.add_node("SiLU", name + ".silu", {y}, {a});
    return a;
  };
  ir::Value* x = value("x", kC);
  g.inputs.push_back(x);
  ir::Value* pre = conv_silu("pre", x, kC, kHalf, 3);
  ir::Value* t = conv_silu("cv1", pre, kHalf, 2 * kHalf, 1);
  ir::Value* y0 = value("y0", kHalf);
  ir::Value* y1 = value("y1", kHalf);
  ir::Value* sizes = g.add_constant("sizes", ir::Tensor::from_vector<int64_t>({2}, {kHalf, kHalf}));
  g.add_node("Split", "split", {t, sizes}, {y0, y1})->attrs = {{"axis", int64_t{1}}};
  ir::Value* b0 = conv_silu("m0.cv2", conv_silu("m0.cv1", y1, kHalf, kHalf, 3), kHalf, kHalf, 3);
  ir::Value* y2 = value("y2", kHalf);
  g.add_node("Add", "m0.add", {y1, b0}, {y2});
  ir::Value* y3 = conv_silu("m1.cv2", conv_silu("m1.cv1", y2, kHalf, kHalf, 3), kHalf, kHalf, 3);
  ir::Value* cat = value("cat", 4 * kHalf);
  g.add_node("Concat", "concat", {y0, y1, y2, y3}, {cat})->attrs = {{"axis", int64_t{1}}};
  g.outputs = {conv_silu("cv2", cat, 4 * kHalf, kOut, 1)};
  if (sigmoid_of_y1) {
    ir::Value* s = value("sig", kHalf);
    g.add_node("Sigmoid", "sigmoid", {y1}, {s});
    g.outputs.push_back(s);
  }
  return g;
}

bool has_step(const BothResults& r, const std::string& node) {
  for (const Tactic& t : r.tactics)
    if (t.node == node) return true;
  return false;
}

std::string tactic_list(const BothResults& r) {
  std::string s;
  for (const Tactic& t : r.tactics) s += " [" + t.node + ": " + t.tactic + "]";
  return s;
}

void expect_close(const BothResults& r, Precision p, double tol) {
  ASSERT_EQ(r.cuda.size(), r.cpu.size());
  ASSERT_FALSE(r.cpu.empty());
  for (size_t i = 0; i < r.cpu.size(); ++i) {
    const double err = relative_max_error(r.cuda[i], r.cpu[i]);
    std::cout << "C2f " << to_string(p) << " output " << i << " error " << err << std::endl;
    EXPECT_LE(err, tol) << to_string(p) << " output " << i << tactic_list(r);
  }
}

// FP16 and TF32 fold the residual Add and fuse bias+SiLU into cuDNN graphs: every conv
// writes in place, the Split and the Concat leave no step. Strict FP32 (plain cuDNN convs,
// our bias+SiLU kernel on packed outputs) keeps the copies and matches too.
TEST(CudaConcatViews, C2fBlockHasNoConcatOrSplitStep) {
  KILN_REQUIRE_GPU();
  const ir::Tensor x = random_tensor({kN, kC, kH, kW}, 7);
  for (auto [p, tol] : {std::pair{Precision::kFp32, 1e-3}, std::pair{Precision::kFp16, 1e-2},
                        std::pair{Precision::kTf32, 5e-3}}) {
    const BothResults r = run_graph_both([](const auto&) { return c2f_graph(false); }, {x}, p);
    expect_close(r, p, tol);
    if (p == Precision::kFp32) continue;
    EXPECT_FALSE(has_step(r, "concat")) << to_string(p) << tactic_list(r);
    EXPECT_FALSE(has_step(r, "split")) << to_string(p) << tactic_list(r);
  }
}

// y1 read by a Sigmoid too: it is copied out of the buffer for the Sigmoid and the Concat
// copies it; the other operands stay in place.
TEST(CudaConcatViews, PackedConsumerFallsBackToCopies) {
  KILN_REQUIRE_GPU();
  const ir::Tensor x = random_tensor({kN, kC, kH, kW}, 8);
  for (auto [p, tol] : {std::pair{Precision::kFp32, 1e-3}, std::pair{Precision::kFp16, 1e-2}}) {
    const BothResults r = run_graph_both([](const auto&) { return c2f_graph(true); }, {x}, p);
    expect_close(r, p, tol);
  }
}

}  // namespace
}  // namespace kiln::cuda::test
