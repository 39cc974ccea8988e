// Conv fusions and the tuned-plan timing cache: Conv->SiLU->Add(residual) folded into one
// cuDNN graph (FP16, TF32) and Conv->ReLU, Conv->Sigmoid into theirs, against the CPU reference; a second build reading the timing
// cache reuses every choice (no timing) and computes the same output; the cache file
// round-trips and ignores malformed lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <tuple>

#include "backends/cuda/device_support.h"
#include "backends/cuda/timing_cache.h"
#include "cuda_test_util.h"

namespace kiln::cuda::test {
namespace {

// x -> Conv(3x3, c->c, pad 1) -> SiLU -> Add(x, .) : the Bottleneck of YOLOv8/YOLO11.
ir::Graph bottleneck_graph(int64_t c, int64_t h, uint32_t seed) {
  ir::Graph g;
  ir::Value* x = g.add_value("x");
  x->dtype = ir::DType::kFloat32;
  x->shape = ir::make_shape({1, c, h, h});
  g.inputs.push_back(x);
  ir::Value* w = g.add_constant("w", random_tensor({c, c, 3, 3}, seed, -0.2f, 0.2f));
  ir::Value* b = g.add_constant("b", random_tensor({c}, seed + 1));
  auto value = [&](const char* name) {
    ir::Value* v = g.add_value(name);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({1, c, h, h});
    return v;
  };
  ir::Value* conv = value("conv");
  ir::Value* act = value("act");
  ir::Value* sum = value("sum");
  ir::Node* n = g.add_node("Conv", "conv0", {x, w, b}, {conv});
  n->attrs = {{"kernel_shape", std::vector<int64_t>{3, 3}},
              {"strides", std::vector<int64_t>{1, 1}},
              {"pads", std::vector<int64_t>{1, 1, 1, 1}},
              {"dilations", std::vector<int64_t>{1, 1}},
              {"group", int64_t{1}}};
  g.add_node("SiLU", "silu0", {conv}, {act});
  g.add_node("Add", "add0", {x, act}, {sum});
  g.outputs = {sum};
  return g;
}

// out = Conv1x1(in) with random weights and bias (cin -> cout channels).
void add_pointwise_conv(ir::Graph& g, const std::string& name, ir::Value* in, int64_t cin, int64_t cout, uint32_t seed,
                        ir::Value* out) {
  ir::Value* w = g.add_constant(name + "_w", random_tensor({cout, cin, 1, 1}, seed, -0.3f, 0.3f));
  ir::Value* b = g.add_constant(name + "_b", random_tensor({cout}, seed + 1));
  g.add_node("Conv", name, {in, w, b}, {out})->attrs = {{"kernel_shape", std::vector<int64_t>{1, 1}},
                                                       {"strides", std::vector<int64_t>{1, 1}},
                                                       {"pads", std::vector<int64_t>{0, 0, 0, 0}},
                                                       {"dilations", std::vector<int64_t>{1, 1}},
                                                       {"group", int64_t{1}}};
}

struct Built {
  std::vector<ir::Tensor> out;
  std::vector<Tactic> tactics;
  BuildStats stats;
};

// These graphs stand for a network's middle, not its head: no FP32 tail (fp32_tail.h).
Built build_and_run(const ir::Graph& g, BuildOptions opt, const ir::Tensor& x) {
  Built r;
  opt.fp32_tail = false;
  auto engine = Engine::build(g, opt);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  if (!engine.ok()) return r;
  r.tactics = (*engine)->tactics();
  r.stats = (*engine)->build_stats();
  auto ctx = ExecutionContext::create(**engine);
  EXPECT_TRUE(ctx.ok()) << ctx.status().message();
  if (!ctx.ok()) return r;
  const size_t out_bytes = static_cast<size_t>(ir::shape_numel((*engine)->output_dims(0))) * sizeof(float);
  EXPECT_EQ(cudaMemset(const_cast<float*>((*ctx)->output(0)), 0xFF, out_bytes), cudaSuccess);
  auto out = (*ctx)->run({x});
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (out.ok()) r.out = std::move(*out);
  return r;
}

// x -> MaxPool(5, s1, p2) x3 chained, Concat(x, p1, p2, p3): YOLO's SPPF.
ir::Graph sppf_graph(int64_t n, int64_t c, int64_t h, int64_t w) {
  ir::Graph g;
  auto value = [&](const std::string& name, int64_t channels) {
    ir::Value* v = g.add_value(name);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({n, channels, h, w});
    return v;
  };
  ir::Value* x = value("x", c);
  g.inputs.push_back(x);
  std::vector<ir::Value*> cat = {x};
  for (const char* name : {"p0", "p1", "p2"}) {
    ir::Value* p = value(name, c);
    ir::Node* pool = g.add_node("MaxPool", std::string("pool_") + name, {cat.back()}, {p});
    pool->attrs = {{"kernel_shape", std::vector<int64_t>{5, 5}},
                   {"strides", std::vector<int64_t>{1, 1}},
                   {"pads", std::vector<int64_t>{2, 2, 2, 2}}};
    cat.push_back(p);
  }
  ir::Value* y = value("y", 4 * c);
  g.add_node("Concat", "cat", cat, {y})->attrs = {{"axis", int64_t{1}}};
  g.outputs = {y};
  return g;
}

// The SPPF runs as one sppf_nhwc step (pools and concat folded) and matches the CPU exactly
// in FP32; an image smaller than the 13-wide window and not square checks the clipping.
TEST(CudaFusion, SppfIsOneKernel) {
  KILN_REQUIRE_GPU();
  ir::Graph g = sppf_graph(2, 16, 11, 7);
  ir::Tensor x = random_tensor({2, 16, 11, 7}, 21);
  auto cpu = cpu::Executor::create(g);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  auto ref = cpu->run({x});
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  for (auto [p, tol] : {std::pair{Precision::kFp32, 0.0}, std::pair{Precision::kFp16, 1e-3}}) {
    Built r = build_and_run(g, test_build_options(p), x);
    ASSERT_EQ(r.out.size(), 1u);
    EXPECT_LE(relative_max_error(r.out[0], (*ref)[0]), tol) << to_string(p);
    ASSERT_EQ(r.tactics.size(), 1u);
    EXPECT_EQ(r.tactics[0].tactic, "sppf_nhwc");
  }
}

TEST(CudaFusion, ResidualAddFoldsIntoConv) {
  KILN_REQUIRE_GPU();
  ir::Graph g = bottleneck_graph(32, 40, 3);
  ir::Tensor x = random_tensor({1, 32, 40, 40}, 5);
  auto cpu = cpu::Executor::create(g);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  auto ref = cpu->run({x});
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  // TF32 rounds operands to 10 mantissa bits: ~1e-3 of the range.
  for (auto [p, tol] : {std::pair{Precision::kFp16, 1e-2}, std::pair{Precision::kTf32, 5e-3}}) {
    Built r = build_and_run(g, test_build_options(p), x);
    ASSERT_EQ(r.out.size(), 1u);
    EXPECT_LE(relative_max_error(r.out[0], (*ref)[0]), tol) << to_string(p);
    EXPECT_EQ(r.stats.residual_fused, 1) << to_string(p);
    bool fused = false;
    for (const auto& t : r.tactics) fused = fused || t.tactic.rfind("cudnn_fused+add:", 0) == 0;
    EXPECT_TRUE(fused) << to_string(p) << ": no conv took the residual Add";
  }
  // Strict FP32 keeps the Add separate and still matches.
  Built r = build_and_run(g, test_build_options(Precision::kFp32), x);
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_LE(relative_max_error(r.out[0], (*ref)[0]), 1e-3);
  EXPECT_EQ(r.stats.residual_fused, 0);
}

// x -> Conv(1x1) -> Add(x, .) -> ReLU: the end of OSNet's blocks. At FP16 the Add and the
// ReLU after it both run in the conv's cuDNN graph (no step of their own); the output matches
// the CPU.
TEST(CudaFusion, ReluAfterResidualAddFoldsIntoConv) {
  KILN_REQUIRE_GPU();
  ir::Graph g;
  auto value = [&](const char* name) {
    ir::Value* v = g.add_value(name);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({2, 32, 8, 8});
    return v;
  };
  ir::Value *x = value("x"), *conv = value("conv"), *sum = value("sum"), *out = value("out");
  g.inputs.push_back(x);
  add_pointwise_conv(g, "conv0", x, 32, 32, 41, conv);
  g.add_node("Add", "add0", {conv, x}, {sum});
  g.add_node("Relu", "relu0", {sum}, {out});
  g.outputs = {out};
  const ir::Tensor in = random_tensor({2, 32, 8, 8}, 43);
  auto cpu = cpu::Executor::create(g);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  auto ref = cpu->run({in});
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  Built r = build_and_run(g, test_build_options(Precision::kFp16), in);
  ASSERT_EQ(r.out.size(), 1u);
  EXPECT_LE(relative_max_error(r.out[0], (*ref)[0]), 1e-2);
  std::string tactics;
  for (const auto& t : r.tactics) tactics += " [" + t.node + ": " + t.tactic + "]";
  ASSERT_EQ(r.tactics.size(), 1u) << tactics;
  EXPECT_EQ(r.tactics[0].tactic.rfind("cudnn_fused+add+Relu:", 0), 0u) << tactics;
}

// x -> Conv(1x1) -> ReLU -> Conv(1x1) -> Sigmoid: OSNet's channel gate. Both activations
// fold into their convs at FP16 (no step of their own), whether a conv runs as a cuDNN graph
// or, timed faster, kiln's tensor-core conv, and the output matches the CPU; strict FP32 (no fused graphs) keeps them as steps and matches too.
TEST(CudaFusion, ReluAndSigmoidFoldIntoConvs) {
  KILN_REQUIRE_GPU();
  ir::Graph g;
  auto value = [&](const char* name, int64_t c) {
    ir::Value* v = g.add_value(name);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({2, c, 6, 6});
    return v;
  };
  ir::Value* x = value("x", 32);
  g.inputs.push_back(x);
  ir::Value* fc1 = value("fc1", 8);
  ir::Value* relu = value("relu", 8);
  ir::Value* fc2 = value("fc2", 32);
  ir::Value* gate = value("gate", 32);
  add_pointwise_conv(g, "conv_fc1", x, 32, 8, 21, fc1);
  g.add_node("Relu", "act_relu", {fc1}, {relu});
  add_pointwise_conv(g, "conv_fc2", relu, 8, 32, 23, fc2);
  g.add_node("Sigmoid", "act_sigmoid", {fc2}, {gate});
  g.outputs = {gate};
  ir::Tensor in = random_tensor({2, 32, 6, 6}, 25);
  auto cpu = cpu::Executor::create(g);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  auto ref = cpu->run({in});
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  auto steps_of = [](const Built& r, const std::string& node) {
    int n = 0;
    for (const auto& t : r.tactics) n += t.node == node;
    return n;
  };
  Built fp16 = build_and_run(g, test_build_options(Precision::kFp16), in);
  ASSERT_EQ(fp16.out.size(), 1u);
  EXPECT_LE(relative_max_error(fp16.out[0], (*ref)[0]), 1e-2);
  EXPECT_EQ(steps_of(fp16, "act_relu"), 0) << "the ReLU ran as a step of its own";
  EXPECT_EQ(steps_of(fp16, "act_sigmoid"), 0) << "the Sigmoid ran as a step of its own";
  for (const char* c : {"conv_fc1", "conv_fc2"}) {
    bool fused = false;
    for (const auto& t : fp16.tactics)
      fused = fused || (t.node == c && (t.tactic.rfind("cudnn_fused:", 0) == 0 || t.tactic.rfind("conv_mma_", 0) == 0));
    EXPECT_TRUE(fused) << c << " did not run as a fused cuDNN graph or kiln's tensor-core conv";
  }
  Built fp32 = build_and_run(g, test_build_options(Precision::kFp32), in);
  ASSERT_EQ(fp32.out.size(), 1u);
  EXPECT_LE(relative_max_error(fp32.out[0], (*ref)[0]), 1e-5);
  EXPECT_EQ(steps_of(fp32, "act_relu"), 1);
  EXPECT_EQ(steps_of(fp32, "act_sigmoid"), 1);
}

// Adds gate = Sigmoid(Conv1x1(ReLU(Conv1x1(GlobalAveragePool(y))))), OSNet's channel gate
// (hidden = c / 4), its nodes named gap, fc1, relu, fc2, sigmoid + `tag`; with `reduce_mean`
// the means come from a ReduceMean over H and W instead (which the gate does not take in).
ir::Value* add_channel_gate(ir::Graph& g, const std::string& tag, ir::Value* y, int64_t n, int64_t c, uint32_t seed,
                            bool reduce_mean = false) {
  auto value = [&](const std::string& name, int64_t channels) {
    ir::Value* v = g.add_value(name + tag);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({n, channels, 1, 1});
    return v;
  };
  ir::Value *m = value("m", c), *f1 = value("f1", c / 4), *relu = value("r", c / 4), *f2 = value("f2", c);
  ir::Value* gate = value("g", c);
  if (reduce_mean) {
    g.add_node("ReduceMean", "gap" + tag, {y}, {m})->attrs = {{"axes", std::vector<int64_t>{2, 3}}, {"keepdims", int64_t{1}}};
  } else {
    g.add_node("GlobalAveragePool", "gap" + tag, {y}, {m});
  }
  add_pointwise_conv(g, "fc1" + tag, m, c, c / 4, seed, f1);
  g.add_node("Relu", "relu" + tag, {f1}, {relu});
  add_pointwise_conv(g, "fc2" + tag, relu, c / 4, c, seed + 2, f2);
  g.add_node("Sigmoid", "sigmoid" + tag, {f2}, {gate});
  return gate;
}

// Builds and runs `g` at FP32 and FP16, each within 1e-5 / 1e-2 of the CPU's output range;
// returns each one's tactics.
std::vector<std::vector<Tactic>> tactics_at_fp32_and_fp16(const ir::Graph& g, const ir::Tensor& in, const std::string& what) {
  std::vector<std::vector<Tactic>> tactics;
  auto cpu = cpu::Executor::create(g);
  EXPECT_TRUE(cpu.ok()) << cpu.status().message();
  if (!cpu.ok()) return tactics;
  auto ref = cpu->run({in});
  EXPECT_TRUE(ref.ok()) << ref.status().message();
  if (!ref.ok()) return tactics;
  for (Precision p : {Precision::kFp32, Precision::kFp16}) {
    Built r = build_and_run(g, test_build_options(p), in);
    EXPECT_EQ(r.out.size(), 1u) << what;
    if (r.out.size() != 1) return tactics;
    EXPECT_LE(relative_max_error(r.out[0], (*ref)[0]), p == Precision::kFp32 ? 1e-5 : 1e-2) << what << ", " << to_string(p);
    tactics.push_back(r.tactics);
  }
  return tactics;
}

// OSNet's channel gate on an NHWC tensor: y = Conv1x1(x), gate = Sigmoid(Conv1x1(ReLU(
// Conv1x1(GlobalAveragePool(y))))), out = y * gate + y. The pool, the gate's convs and
// activations run as one channel_gate+pool step; means from a ReduceMean run as a step of
// their own before a channel_gate step. The Mul (a [N, C, 1, 1] gate times an NHWC tensor)
// and the Add (same shapes) take the binary fast kernel, with 16-byte vectors (32 channels,
// batch 2) and without (20 channels, batch 1). Against the CPU at FP32 and FP16.
TEST(CudaFusion, ChannelGateAndItsMulAddOnNhwc) {
  KILN_REQUIRE_GPU();
  for (const auto& [n, c, reduce_mean] : {std::tuple<int64_t, int64_t, bool>{2, 32, false}, {1, 20, false}, {2, 32, true}}) {
    ir::Graph g;
    auto value = [&](const char* name) {
      ir::Value* v = g.add_value(name);
      v->dtype = ir::DType::kFloat32;
      v->shape = ir::make_shape({n, c, 7, 7});
      return v;
    };
    ir::Value *x = value("x"), *y = value("y"), *z = value("z"), *out = value("out");
    g.inputs.push_back(x);
    add_pointwise_conv(g, "conv0", x, c, c, 31, y);
    ir::Value* gate = add_channel_gate(g, "0", y, n, c, 35, reduce_mean);
    g.add_node("Mul", "mul0", {y, gate}, {z});
    g.add_node("Add", "add0", {z, y}, {out});
    g.outputs = {out};
    const std::string what = "batch " + std::to_string(n) + ", " + std::to_string(c) + " channels" +
                             (reduce_mean ? ", ReduceMean" : "");
    const std::vector<std::string> want =
        reduce_mean ? std::vector<std::string>{"gap0: reduce_mean", "fc10: channel_gate"}
                    : std::vector<std::string>{"fc10: channel_gate+pool"};
    for (const std::vector<Tactic>& tactics : tactics_at_fp32_and_fp16(g, random_tensor({n, c, 7, 7}, 33), what)) {
      std::vector<std::string> gate_steps;
      for (const Tactic& t : tactics)
        if (t.node == "gap0" || t.node == "fc10" || t.node == "relu0" || t.node == "fc20" || t.node == "sigmoid0")
          gate_steps.push_back(t.node + ": " + t.tactic);
      EXPECT_EQ(gate_steps, want) << what;
    }
  }
}

// OSNet's aggregation gate: four streams y_k = Conv1x1_k(x), each times its own channel gate,
// summed. The 4 Mul and 3 Add run as one step at the last Add (nothing planned for the
// others), whether the sum is a chain or a balanced tree and whichever side the gate is on.
// Where thread block clusters run (compute capability 9.0), that step computes the gates
// too (gated_sum+gates; the pools, the gates' convs and activations planned as nothing);
// elsewhere, and for gates on means from a ReduceMean, each gate is a step of its own before
// a gated_sum step. 32 channels (16-byte vectors) at batch 2, 20 channels (FP16: scalar) at
// batch 1, 24 channels over 16x9 pixels (a cluster's blocks taking 18 pixels each) at
// batch 3. Against the CPU at FP32 and FP16.
TEST(CudaFusion, GatedStreamsSumAsOneStep) {
  KILN_REQUIRE_GPU();
  struct Case {
    int64_t n, c, h, w;
    bool balanced, reduce_mean;
  };
  for (const Case& k : {Case{2, 32, 7, 7, false, false}, Case{1, 20, 7, 7, true, false},
                        Case{3, 24, 16, 9, false, false}, Case{2, 32, 7, 7, false, true}}) {
    ir::Graph g;
    auto value = [&](const std::string& name) {
      ir::Value* v = g.add_value(name);
      v->dtype = ir::DType::kFloat32;
      v->shape = ir::make_shape({k.n, k.c, k.h, k.w});
      return v;
    };
    ir::Value* x = value("x");
    g.inputs.push_back(x);
    std::vector<ir::Value*> products;
    for (int i = 0; i < 4; ++i) {
      const std::string s = std::to_string(i);
      ir::Value *y = value("y" + s), *z = value("z" + s);
      add_pointwise_conv(g, "conv" + s, x, k.c, k.c, 40 + 10 * i, y);
      ir::Value* gate = add_channel_gate(g, s, y, k.n, k.c, 43 + 10 * i, k.reduce_mean);
      g.add_node("Mul", "mul" + s, i % 2 ? std::vector<ir::Value*>{gate, y} : std::vector<ir::Value*>{y, gate}, {z});
      products.push_back(z);
    }
    ir::Value *s01 = value("s01"), *s23 = value("s23"), *s012 = value("s012"), *out = value("out");
    g.add_node("Add", "add01", {products[0], products[1]}, {s01});
    if (k.balanced) {
      g.add_node("Add", "add23", {products[2], products[3]}, {s23});
      g.add_node("Add", "add_all", {s01, s23}, {out});
    } else {
      g.add_node("Add", "add012", {s01, products[2]}, {s012});
      g.add_node("Add", "add_all", {s012, products[3]}, {out});
    }
    g.outputs = {out};
    const std::string what = "batch " + std::to_string(k.n) + ", " + std::to_string(k.c) + " channels, " +
                             std::to_string(k.h) + "x" + std::to_string(k.w) + (k.reduce_mean ? ", ReduceMean" : "");
    const bool folds = cuda::sm90_kernels_running() && !k.reduce_mean;
    for (const std::vector<Tactic>& tactics :
         tactics_at_fp32_and_fp16(g, random_tensor({k.n, k.c, k.h, k.w}, 39), what)) {
      std::vector<std::string> sum_steps;
      int gate_steps = 0;
      for (const Tactic& t : tactics) {
        if (t.node.rfind("mul", 0) == 0 || t.node.rfind("add", 0) == 0) sum_steps.push_back(t.node + ": " + t.tactic);
        for (const char* gate_node : {"gap", "fc1", "relu", "fc2", "sigmoid"})
          if (t.node.rfind(gate_node, 0) == 0) ++gate_steps;
      }
      EXPECT_EQ(sum_steps, std::vector<std::string>{folds ? "add_all: gated_sum+gates" : "add_all: gated_sum"}) << what;
      EXPECT_EQ(gate_steps, folds ? 0 : k.reduce_mean ? 8 : 4) << what;
    }
  }
}

// OSNet's LightConv3x3: x -> Conv1x1 -> Conv3x3 depthwise (+ activation) as one
// pointwise_depthwise step (the depthwise conv and its activation planned as nothing), at
// FP32 and FP16 against the CPU: OSNet's stage-2 shape (16 channels, ReLU, a 1x1 without
// bias), odd sizes whose tiles overhang the image (32 -> 24 channels, a biased 1x1, no
// activation) and the most channels taken (64, SiLU). 72 channels are beyond the kernel:
// two steps of their own, still against the CPU.
TEST(CudaFusion, PointwiseThenDepthwiseAsOneStep) {
  KILN_REQUIRE_GPU();
  struct Case {
    int64_t n, cin, cmid, h, w;
    bool pw_bias;
    const char* act;
    bool fused;
  };
  for (const Case& k : {Case{2, 16, 16, 64, 32, false, "Relu", true}, Case{3, 32, 24, 13, 11, true, "", true},
                        Case{1, 64, 64, 9, 9, false, "SiLU", true}, Case{1, 8, 72, 6, 5, false, "Relu", false}}) {
    ir::Graph g;
    auto value = [&](const std::string& name, int64_t c) {
      ir::Value* v = g.add_value(name);
      v->dtype = ir::DType::kFloat32;
      v->shape = ir::make_shape({k.n, c, k.h, k.w});
      return v;
    };
    ir::Value *x = value("x", k.cin), *y = value("y", k.cmid), *z = value("z", k.cmid), *a = value("a", k.cmid);
    g.inputs.push_back(x);
    std::vector<ir::Value*> pw_in = {x, g.add_constant("pw_w", random_tensor({k.cmid, k.cin, 1, 1}, 61, -0.3f, 0.3f))};
    if (k.pw_bias) pw_in.push_back(g.add_constant("pw_b", random_tensor({k.cmid}, 62)));
    g.add_node("Conv", "pw", pw_in, {y})->attrs = {{"kernel_shape", std::vector<int64_t>{1, 1}},
                                                   {"strides", std::vector<int64_t>{1, 1}},
                                                   {"pads", std::vector<int64_t>{0, 0, 0, 0}},
                                                   {"group", int64_t{1}}};
    ir::Value* dw_w = g.add_constant("dw_w", random_tensor({k.cmid, 1, 3, 3}, 63, -0.5f, 0.5f));
    ir::Value* dw_b = g.add_constant("dw_b", random_tensor({k.cmid}, 64));
    g.add_node("Conv", "dw", {y, dw_w, dw_b}, {z})->attrs = {{"kernel_shape", std::vector<int64_t>{3, 3}},
                                                             {"strides", std::vector<int64_t>{1, 1}},
                                                             {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                                                             {"dilations", std::vector<int64_t>{1, 1}},
                                                             {"group", k.cmid}};
    if (*k.act) g.add_node(k.act, "act", {z}, {a});
    g.outputs = {*k.act ? a : z};
    const std::string what = std::to_string(k.n) + " x " + std::to_string(k.cin) + " -> " + std::to_string(k.cmid) +
                             " channels, " + std::to_string(k.h) + "x" + std::to_string(k.w);
    for (const std::vector<Tactic>& tactics :
         tactics_at_fp32_and_fp16(g, random_tensor({k.n, k.cin, k.h, k.w}, 65), what)) {
      std::vector<std::string> steps;
      for (const Tactic& t : tactics) steps.push_back(t.node + ": " + t.tactic);
      if (k.fused) {
        EXPECT_EQ(steps, std::vector<std::string>{"pw: pointwise_depthwise"}) << what;
      } else {
        EXPECT_GE(steps.size(), 2u) << what;
        for (const std::string& step : steps) EXPECT_EQ(step.find("pointwise_depthwise"), std::string::npos) << what;
      }
    }
  }
}

// x [N, bins, 4, A] -> Softmax(axis 1) -> Conv 1x1 to `outputs` channels (weights: the
// bins' distances 0..bins-1, then random), with a bias or without: the DFL of a YOLO head.
ir::Graph dfl_graph(int64_t n, int64_t bins, int64_t anchors, int64_t outputs, bool bias) {
  ir::Graph g;
  auto value = [&](const std::string& name, int64_t channels) {
    ir::Value* v = g.add_value(name);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({n, channels, 4, anchors});
    return v;
  };
  ir::Value* x = value("x", bins);
  g.inputs.push_back(x);
  ir::Value* p = value("p", bins);
  g.add_node("Softmax", "softmax", {x}, {p})->attrs = {{"axis", int64_t{1}}};
  ir::Tensor w = random_tensor({outputs, bins, 1, 1}, 41);
  for (int64_t i = 0; i < bins; ++i) w.data<float>()[i] = float(i);
  std::vector<ir::Value*> in = {p, g.add_constant("w", w)};
  if (bias) in.push_back(g.add_constant("b", random_tensor({outputs}, 42)));
  ir::Value* y = value("y", outputs);
  g.add_node("Conv", "dfl", in, {y})->attrs = {{"kernel_shape", std::vector<int64_t>{1, 1}},
                                               {"strides", std::vector<int64_t>{1, 1}},
                                               {"pads", std::vector<int64_t>{0, 0, 0, 0}},
                                               {"dilations", std::vector<int64_t>{1, 1}},
                                               {"group", int64_t{1}}};
  g.outputs = {y};
  return g;
}

// The DFL's Softmax and its one-channel Conv run as one softmax_expectation step (no conv,
// no layout copy), with and without a bias, against the CPU; a Conv to two channels is left
// to the conv planner.
TEST(CudaFusion, DflSoftmaxAndConvAsOneStep) {
  KILN_REQUIRE_GPU();
  for (bool bias : {false, true}) {
    const ir::Graph g = dfl_graph(2, 16, 300, 1, bias);
    for (const std::vector<Tactic>& tactics :
         tactics_at_fp32_and_fp16(g, random_tensor({2, 16, 4, 300}, 43, -4.f, 4.f), bias ? "dfl with bias" : "dfl")) {
      ASSERT_EQ(tactics.size(), 1u);
      EXPECT_EQ(tactics[0].tactic, "softmax_expectation+conv");
    }
  }
  const ir::Graph two = dfl_graph(2, 16, 300, 2, false);
  for (const std::vector<Tactic>& tactics :
       tactics_at_fp32_and_fp16(two, random_tensor({2, 16, 4, 300}, 44), "two outputs"))
    EXPECT_TRUE(
        std::any_of(tactics.begin(), tactics.end(), [](const Tactic& t) { return t.tactic == "softmax_rows"; }));
}

TEST(CudaFusion, WarmTimingCacheSkipsTuning) {
  KILN_REQUIRE_GPU();
  const std::string path = ::testing::TempDir() + "kiln_warm_cache_test.tsv";
  std::remove(path.c_str());
  ir::Graph g = bottleneck_graph(64, 20, 9);
  ir::Tensor x = random_tensor({1, 64, 20, 20}, 10);
  BuildOptions opt = test_build_options(Precision::kFp16);
  opt.timing_cache_path = path;
  Built cold = build_and_run(g, opt, x);
  Built warm = build_and_run(g, opt, x);
  ASSERT_EQ(cold.out.size(), 1u);
  ASSERT_EQ(warm.out.size(), 1u);
  EXPECT_EQ(cold.stats.cache_hits, 0);
  EXPECT_EQ(warm.stats.tuned, 0);
  EXPECT_EQ(warm.stats.cache_hits, warm.stats.conv_signatures);
  EXPECT_GE(warm.stats.cache_hits, 1);
  // The cached plans come back compiled (cuDNN's serialized plans), not rebuilt, and all of
  // them restored on several threads before planning (the dry pass found every request).
  EXPECT_EQ(warm.stats.plans_loaded, warm.stats.cache_hits);
  EXPECT_EQ(warm.stats.plans_restored_ahead, warm.stats.plans_loaded);
  EXPECT_LE(relative_max_error(warm.out[0], cold.out[0]), 1e-6);
  std::remove(path.c_str());
}

TEST(CudaTimingCache, RoundTripsAndSkipsMalformedLines) {
  const std::string path = ::testing::TempDir() + "kiln_timing_cache_unit.tsv";
  std::remove(path.c_str());
  {
    TimingCache c(path);
    EXPECT_FALSE(c.find("a").has_value());
    c.put("gpu|cudnn1|conv a", TunedChoice{7, {{2, 3}, {5, 1}}, 0.25, {}});
    c.put("gpu|cudnn1|conv b", TunedChoice{9, {}, 1.5, {}});
    // Plans of every length modulo 3 and every byte value survive the base64 column.
    for (size_t n = 1; n <= 4; ++n) {
      TunedChoice t{static_cast<int64_t>(n), {}, 1.0, {}};
      for (size_t i = 0; i < 255 + n; ++i) t.plan.push_back(static_cast<uint8_t>(i * 7 + n));
      c.put("gpu|cudnn1|plan " + std::to_string(n), t);
    }
    ASSERT_TRUE(c.save().ok());
  }
  {
    std::ofstream f(path, std::ios::app);
    f << "garbage line\nkey\tnot-a-number\t\t1\n";
    f << "gpu|cudnn1|bad plan\t3\t\t0.5\tAB=C\n";  // a damaged plan: the entry stays, without it
  }
  TimingCache d(path);
  auto a = d.find("gpu|cudnn1|conv a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->engine_id, 7);
  EXPECT_EQ(a->knobs, (std::vector<std::pair<int64_t, int64_t>>{{2, 3}, {5, 1}}));
  EXPECT_DOUBLE_EQ(a->ms, 0.25);
  auto b = d.find("gpu|cudnn1|conv b");
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->knobs.empty());
  for (size_t n = 1; n <= 4; ++n) {
    auto p = d.find("gpu|cudnn1|plan " + std::to_string(n));
    ASSERT_TRUE(p.has_value());
    ASSERT_EQ(p->plan.size(), 255 + n);
    for (size_t i = 0; i < p->plan.size(); ++i) ASSERT_EQ(p->plan[i], static_cast<uint8_t>(i * 7 + n)) << n << " " << i;
  }
  auto bad = d.find("gpu|cudnn1|bad plan");
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->engine_id, 3);
  EXPECT_TRUE(bad->plan.empty());
  EXPECT_FALSE(d.find("key").has_value());
  EXPECT_FALSE(d.find("garbage line").has_value());
  std::remove(path.c_str());
}

// A text of several MB (an engine's recorded plans) is parsed in pieces side by side: every
// entry comes back whole wherever the pieces split it, a key repeated later takes the later
// line's value as a single pass would, and malformed lines are skipped.
TEST(CudaTimingCache, LargeTextsParseInPiecesAsInOnePass) {
  std::string text;
  for (int n = 0; n < 300; ++n) {
    std::vector<uint8_t> plan(20000 + static_cast<size_t>(n));
    for (size_t i = 0; i < plan.size(); ++i) plan[i] = static_cast<uint8_t>(i * 31 + static_cast<size_t>(n));
    TimingEntries one{{"gpu|cudnn9|conv " + std::to_string(n), TunedChoice{n, {{1, n}}, 0.5, plan}}};
    auto cache = TimingCache::recorded(std::make_shared<const TimingEntries>(one));
    cache.find(one.begin()->first);
    text += cache.used_text();
    if (n % 50 == 7) text += "garbage line\n";
  }
  ASSERT_GT(text.size(), 4u << 20);  // several pieces
  text += "gpu|cudnn9|conv 3\t99\t\t0.25\n";  // the last word on conv 3, in the last piece
  auto entries = TimingCache::parse(text);
  ASSERT_EQ(entries->size(), 300u);
  for (int n = 0; n < 300; ++n) {
    const TunedChoice& t = entries->at("gpu|cudnn9|conv " + std::to_string(n));
    if (n == 3) {
      EXPECT_EQ(t.engine_id, 99);
      EXPECT_TRUE(t.plan.empty());
      continue;
    }
    ASSERT_EQ(t.engine_id, n);
    ASSERT_EQ(t.plan.size(), 20000u + static_cast<size_t>(n));
    for (size_t i = 0; i < t.plan.size(); i += 997) ASSERT_EQ(t.plan[i], static_cast<uint8_t>(i * 31 + static_cast<size_t>(n))) << n;
  }
}

// An engine file's recorded entries: parsed once, replayed, and written back byte for byte
// (the next build of the engine records exactly what it replayed).
TEST(CudaTimingCache, RecordedEntriesReplayAndWriteBackByteForByte) {
  std::string text;
  for (int n = 0; n < 6; ++n) {
    std::vector<uint8_t> plan;
    for (int i = 0; i < 250 * n + n; ++i) plan.push_back(static_cast<uint8_t>(i * 13 + n));
    TimingEntries one{{"gpu|cudnn9|conv n" + std::to_string(n), TunedChoice{39 + n, {{1, n}, {17, -3}}, 0.125 * n, plan}}};
    auto cache = TimingCache::recorded(std::make_shared<const TimingEntries>(one));
    cache.find(one.begin()->first);
    text += cache.used_text();
  }
  text += "gpu|cudnn9|matmul a\t4\t\t0.5\n";
  auto entries = TimingCache::parse(text);
  ASSERT_EQ(entries->size(), 7u);
  EXPECT_EQ(entries->at("gpu|cudnn9|conv n5").plan.size(), 1255u);
  EXPECT_EQ(entries->at("gpu|cudnn9|conv n5").plan[1254], static_cast<uint8_t>(1254 * 13 + 5));
  EXPECT_EQ(entries->at("gpu|cudnn9|conv n2").knobs, (std::vector<std::pair<int64_t, int64_t>>{{1, 2}, {17, -3}}));
  TimingCache replay = TimingCache::recorded(entries);
  EXPECT_TRUE(replay.replay_only());
  for (const auto& [key, choice] : *entries) ASSERT_TRUE(replay.find(key).has_value()) << key;
  EXPECT_EQ(replay.used_text(), text);
  // A knob list with a trailing comma reads as the list without it; a knob without '='
  // drops the line.
  auto odd = TimingCache::parse("k1\t3\t1=2,\t0.5\nk2\t3\t1=2,x\t0.5\n");
  ASSERT_EQ(odd->size(), 1u);
  EXPECT_EQ(odd->at("k1").knobs, (std::vector<std::pair<int64_t, int64_t>>{{1, 2}}));
}

}  // namespace
}  // namespace kiln::cuda::test
