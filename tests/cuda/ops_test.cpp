// Every CUDA op against the CPU reference kernels, on random inputs of real yolo11n layer
// shapes, in FP32 (max error <= 1e-4 of the reference's range; 1e-3 for cuDNN/cuBLAS paths)
// and FP16 (<= 1e-2).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "backends/cuda/ops/conv_mma.h"
#include "cuda_test_util.h"

namespace kiln::cuda::test {
namespace {

void expect_close(const NodeCase& c, Precision p, double tol, bool direct_conv = false) {
  expect_outputs_close(run_both(c, p, direct_conv), c, p, tol, direct_conv ? " (direct conv)" : "");
}

NodeCase conv_case(int64_t c, int64_t h, int64_t k, int64_t ksize, int64_t stride, int64_t group, bool silu,
                   uint32_t seed) {
  NodeCase nc;
  nc.op_type = "Conv";
  nc.num_inputs = 3;
  nc.inputs = {random_tensor({1, c, h, h}, seed)};
  nc.constants[1] = random_tensor({k, c / group, ksize, ksize}, seed + 1, -0.3f, 0.3f);
  nc.constants[2] = random_tensor({k}, seed + 2);
  const int64_t pad = ksize / 2;
  nc.attrs = {{"kernel_shape", std::vector<int64_t>{ksize, ksize}},
              {"strides", std::vector<int64_t>{stride, stride}},
              {"pads", std::vector<int64_t>{pad, pad, pad, pad}},
              {"dilations", std::vector<int64_t>{1, 1}},
              {"group", group}};
  if (silu) nc.then_op = "SiLU";
  return nc;
}

struct ConvParam {
  const char* name;
  int64_t c, h, k, ksize, stride, group;
  bool silu;
};

class ConvTest : public ::testing::TestWithParam<ConvParam> {};

TEST_P(ConvTest, MatchesCpu) {
  KILN_REQUIRE_GPU();
  const ConvParam& p = GetParam();
  NodeCase c = conv_case(p.c, p.h, p.k, p.ksize, p.stride, p.group, p.silu, 7);
  expect_close(c, Precision::kFp32, 1e-3);
  expect_close(c, Precision::kFp16, 1e-2);
  expect_close(c, Precision::kFp32, 1e-4, /*direct_conv=*/true);
}

INSTANTIATE_TEST_SUITE_P(
    Yolo11n, ConvTest,
    ::testing::Values(ConvParam{"stem_3to16_s2", 3, 64, 16, 3, 2, 1, true},   // model.0 (smaller image)
                      ConvParam{"c3k2_3x3", 32, 40, 32, 3, 1, 1, true},       // bottleneck
                      ConvParam{"down_s2", 64, 40, 128, 3, 2, 1, true},       // model.5
                      ConvParam{"pw_1x1", 256, 20, 128, 1, 1, 1, true},       // model.9 cv1
                      ConvParam{"dw_3x3", 128, 20, 128, 3, 1, 128, true},     // head cv3 depthwise
                      ConvParam{"head_1x1_no_act", 80, 20, 80, 1, 1, 1, false}),
    [](const ::testing::TestParamInfo<ConvParam>& i) { return std::string(i.param.name); });

// A conv on the graph's FP32 NCHW input with few channels runs conv_nchw_input (which reads
// that input as it is), its activation folded in: the stem shape, OSNet's 7x7 stride-2 stem
// with a ReLU (batch 2, a non-square input, its output tiles overhanging the image) and one
// with 4 channels, a 5x5 kernel, 3 output groups of 8. At FP16 the two with 64 taps or more
// run on tensor cores.
TEST(CudaOps, ConvOnNchwInputSkipsConvert) {
  KILN_REQUIRE_GPU();
  NodeCase osnet = conv_case(3, 64, 16, 7, 2, 1, false, 9);
  osnet.inputs = {random_tensor({2, 3, 66, 30}, 9)};
  osnet.then_op = "Relu";
  struct Case {
    NodeCase c;
    bool tensor_cores;
  };
  for (const Case& k : {Case{conv_case(3, 66, 32, 3, 2, 1, true, 3), false}, Case{osnet, true},
                        Case{conv_case(4, 33, 24, 5, 1, 1, false, 5), true}}) {
    const NodeCase& c = k.c;
    for (Precision p : {Precision::kFp32, Precision::kFp16}) {
      BothResults r = run_both(c, p);
      ASSERT_EQ(r.tactics.size(), 1u) << "the activation ran as a step of its own";
      EXPECT_EQ(r.tactics[0].tactic,
                p == Precision::kFp16 && k.tensor_cores ? "conv_nchw_input_mma" : "conv_nchw_input");
    }
    expect_close(c, Precision::kFp32, 1e-4);
    expect_close(c, Precision::kFp16, 1e-2);
  }
}

// The choice a step's tactic names: our kernel, or cuDNN's engine (a plan restored from the
// timing cache is named without its knobs, "cudnn_fused:eng39 (cached plan)" for a tuned
// "cudnn_fused:eng39_k25=0").
std::string chosen_kernel(const std::string& tactic) {
  const size_t engine = tactic.find(":eng");
  if (engine == std::string::npos) return tactic;
  return tactic.substr(0, std::min(tactic.find("_k", engine), tactic.find(' ', engine)));
}

// Builds c at FP16 twice with one timing cache file: the first build measures our kernel
// against cuDNN's plan and records the choice under `own_key`, the second makes the same
// choice from the file; both match the CPU.
void expect_measured_choice_recorded(const NodeCase& c, const std::string& own_key) {
  const auto make = [&c](const auto& shapes) { return make_graph(c, shapes); };
  const std::string path = ::testing::TempDir() + "kiln_own_kernel_choice.tsv";
  std::remove(path.c_str());
  const auto tuned = [&](BuildOptions& o) { o.timing_cache_path = path; };
  BothResults cold = run_graph_both(make, c.inputs, Precision::kFp16, false, tuned);
  BothResults warm = run_graph_both(make, c.inputs, Precision::kFp16, false, tuned);
  EXPECT_FALSE(cold.tactics.empty());
  EXPECT_FALSE(warm.tactics.empty());
  if (cold.tactics.empty() || warm.tactics.empty()) return;
  std::cout << "measured choice: " << cold.tactics[0].tactic << std::endl;
  EXPECT_EQ(chosen_kernel(warm.tactics[0].tactic), chosen_kernel(cold.tactics[0].tactic));
  expect_outputs_close(cold, c, Precision::kFp16, 1e-2);
  std::ifstream f(path);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(own_key), std::string::npos) << "no recorded choice in " << path;
  std::remove(path.c_str());
}

// Depthwise convs: our conv_depthwise kernel with the activation folded in (what an
// untuned build runs) against the CPU, on OSNet's 3x3 + ReLU (batch 3), a stride-2 5x5
// without activation, and 20 channels (not a whole number of 16-byte vectors) with a
// Sigmoid; then a tuned build, which measures it against cuDNN's plan, records the choice
// and makes the same one again from the timing cache.
TEST(CudaOps, DepthwiseConvOwnKernelAndMeasuredChoice) {
  KILN_REQUIRE_GPU();
  NodeCase relu = conv_case(64, 17, 64, 3, 1, 64, false, 11);
  relu.inputs = {random_tensor({3, 64, 17, 12}, 11)};
  relu.then_op = "Relu";
  NodeCase strided = conv_case(96, 15, 96, 5, 2, 96, false, 13);
  NodeCase odd = conv_case(20, 9, 20, 3, 1, 20, false, 17);
  odd.then_op = "Sigmoid";
  const auto make = [](const NodeCase& c) { return [&c](const auto& shapes) { return make_graph(c, shapes); }; };
  for (const NodeCase& c : {relu, strided, odd}) {
    for (Precision p : {Precision::kFp32, Precision::kFp16}) {
      BothResults r = run_graph_both(make(c), c.inputs, p, false, [](BuildOptions& o) { o.tune = false; });
      ASSERT_EQ(r.tactics.size(), 1u) << "the activation ran as a step of its own";
      EXPECT_EQ(r.tactics[0].tactic, "conv_depthwise");
      expect_outputs_close(r, c, p, p == Precision::kFp32 ? 1e-5 : 1e-2);
    }
  }
  expect_measured_choice_recorded(relu, "|own conv n3 c64 h17 w12 k64 r3x3");
}

// A tuned FP16 build times our tensor-core kernel against cuDNN's plan for a conv it can take
// as it stands (OSNet's 1x1 of 64 channels + ReLU at batch 32, 16x8), records the choice and
// makes it again from the timing cache; whichever runs matches the CPU.
TEST(CudaOps, ConvMmaMeasuredAgainstCudnn) {
  KILN_REQUIRE_GPU();
  if (!mma_kernels_available()) GTEST_SKIP() << "this GPU has no mma.sync / cp.async (compute capability < 8.0)";
  NodeCase pointwise = conv_case(64, 16, 64, 1, 1, 1, false, 19);
  pointwise.inputs = {random_tensor({32, 64, 16, 8}, 19)};
  pointwise.then_op = "Relu";
  expect_measured_choice_recorded(pointwise, "|own conv n32 c64 h16 w8 k64 r1x1");
}

// An engine without runtime-compiled kernels runs FP16 convs on our tensor-core kernel
// (conv_mma.h), the activation folded in: yolo11n's layer shapes (16-byte copies, each tile
// width), then 6 input channels (4-byte copies), 20 output channels (element stores at the
// tile's edge) over a rectangular batch of 2 with a ReLU, and 2 groups with a Sigmoid.
TEST(CudaOps, ConvMmaFp16WithoutRuntimeCompiledKernels) {
  KILN_REQUIRE_GPU();
  if (!mma_kernels_available()) GTEST_SKIP() << "this GPU has no mma.sync / cp.async (compute capability < 8.0)";
  NodeCase odd = conv_case(6, 13, 20, 3, 1, 1, false, 23);
  odd.inputs = {random_tensor({2, 6, 13, 11}, 23)};
  odd.then_op = "Relu";
  NodeCase grouped = conv_case(32, 18, 64, 3, 2, 2, false, 29);
  grouped.then_op = "Sigmoid";
  const auto make = [](const NodeCase& c) { return [&c](const auto& shapes) { return make_graph(c, shapes); }; };
  const auto no_compile = [](BuildOptions& o) {
    o.runtime_compiled_kernels = false;
    o.tune = false;
    o.timing_cache = false;
  };
  for (const NodeCase& c : {conv_case(32, 40, 32, 3, 1, 1, true, 7), conv_case(64, 40, 128, 3, 2, 1, true, 7),
                            conv_case(256, 20, 128, 1, 1, 1, true, 7), conv_case(16, 24, 16, 3, 1, 1, true, 19),
                            conv_case(80, 20, 80, 1, 1, 1, false, 7), odd, grouped}) {
    BothResults r = run_graph_both(make(c), c.inputs, Precision::kFp16, false, no_compile);
    ASSERT_EQ(r.tactics.size(), 1u) << "the activation ran as a step of its own";
    EXPECT_EQ(r.tactics[0].tactic.rfind("conv_mma_fp16_", 0), 0u) << r.tactics[0].tactic;
    expect_outputs_close(r, c, Precision::kFp16, 1e-2, " (" + r.tactics[0].tactic + ")");
  }
}

TEST(CudaOps, MaxPool5x5) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "MaxPool";
  c.num_inputs = 1;
  c.inputs = {random_tensor({1, 128, 20, 20}, 11)};
  c.attrs = {{"kernel_shape", std::vector<int64_t>{5, 5}},
             {"strides", std::vector<int64_t>{1, 1}},
             {"pads", std::vector<int64_t>{2, 2, 2, 2}}};
  expect_close(c, Precision::kFp32, 0);
  expect_close(c, Precision::kFp16, 1e-3);
}

// OSNet's stem pool (3x3, stride 2, padding 1) on 16 channels (the 8-byte vector kernel),
// and on 3 and 6 channels (FP32 vectors only for 6; the scalar kernel otherwise).
TEST(CudaOps, MaxPoolStrided) {
  KILN_REQUIRE_GPU();
  for (int64_t ch : {16, 3, 6}) {
    NodeCase c;
    c.op_type = "MaxPool";
    c.num_inputs = 1;
    c.inputs = {random_tensor({2, ch, 17, 14}, 13)};
    c.attrs = {{"kernel_shape", std::vector<int64_t>{3, 3}},
               {"strides", std::vector<int64_t>{2, 2}},
               {"pads", std::vector<int64_t>{1, 1, 1, 1}}};
    SCOPED_TRACE(std::to_string(ch) + " channels");
    expect_close(c, Precision::kFp32, 0);
    expect_close(c, Precision::kFp16, 1e-3);
  }
}

TEST(CudaOps, ResizeNearest2x) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Resize";
  c.num_inputs = 3;
  c.inputs = {random_tensor({1, 256, 20, 20}, 12)};
  c.constants[1] = ir::Tensor(ir::DType::kFloat32, {0});
  c.constants[2] = ir::Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f});
  c.attrs = {{"mode", std::string("nearest")},
             {"coordinate_transformation_mode", std::string("asymmetric")},
             {"nearest_mode", std::string("floor")}};
  expect_close(c, Precision::kFp32, 0);
  expect_close(c, Precision::kFp16, 1e-3);
}

// 3 channels: rows too narrow for the 16-byte path, so the per-element kernel runs.
TEST(CudaOps, ResizeNearestNarrowRows) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Resize";
  c.num_inputs = 3;
  c.inputs = {random_tensor({2, 3, 10, 12}, 13)};
  c.constants[1] = ir::Tensor(ir::DType::kFloat32, {0});
  c.constants[2] = ir::Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f});
  c.attrs = {{"mode", std::string("nearest")},
             {"coordinate_transformation_mode", std::string("asymmetric")},
             {"nearest_mode", std::string("floor")}};
  expect_close(c, Precision::kFp32, 0);
  expect_close(c, Precision::kFp16, 1e-3);
}

TEST(CudaOps, ConcatChannels) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Concat";
  c.num_inputs = 3;
  c.inputs = {random_tensor({1, 64, 40, 40}, 13), random_tensor({1, 64, 40, 40}, 14),
              random_tensor({1, 32, 40, 40}, 15)};
  c.attrs = {{"axis", int64_t{1}}};
  expect_close(c, Precision::kFp32, 0);
  expect_close(c, Precision::kFp16, 1e-3);
}

TEST(CudaOps, ConcatLastAxis) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Concat";
  c.num_inputs = 3;
  c.inputs = {random_tensor({1, 64, 6400}, 16), random_tensor({1, 64, 1600}, 17), random_tensor({1, 64, 400}, 18)};
  c.attrs = {{"axis", int64_t{-1}}};
  expect_close(c, Precision::kFp32, 0);
}

TEST(CudaOps, SplitChannels) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Split";
  c.num_inputs = 2;
  c.num_outputs = 2;
  c.inputs = {random_tensor({1, 64, 80, 80}, 19)};
  c.constants[1] = ir::Tensor::from_vector<int64_t>({2}, {32, 32});
  c.attrs = {{"axis", int64_t{1}}};
  expect_close(c, Precision::kFp32, 0);
  expect_close(c, Precision::kFp16, 1e-3);
}

TEST(CudaOps, SoftmaxLastAxis) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Softmax";
  c.num_inputs = 1;
  c.inputs = {random_tensor({1, 2, 400, 400}, 20, -4.f, 4.f)};
  c.attrs = {{"axis", int64_t{-1}}};
  expect_close(c, Precision::kFp32, 1e-5);
  expect_close(c, Precision::kFp16, 1e-2);
}

TEST(CudaOps, SoftmaxDflAxis1) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Softmax";
  c.num_inputs = 1;
  c.inputs = {random_tensor({1, 16, 4, 8400}, 21, -4.f, 4.f)};
  c.attrs = {{"axis", int64_t{1}}};
  expect_close(c, Precision::kFp32, 1e-5);
  expect_close(c, Precision::kFp16, 1e-2);
}

// Attention-shaped MatMul: [1, heads, m, k] x [1, heads, k, m].
NodeCase matmul_case(int64_t m, int64_t k, uint32_t seed) {
  NodeCase c;
  c.op_type = "MatMul";
  c.num_inputs = 2;
  c.inputs = {random_tensor({1, 2, m, k}, seed), random_tensor({1, 2, k, m}, seed + 1)};
  return c;
}

TEST(CudaOps, MatMulAttention) {
  KILN_REQUIRE_GPU();
  const NodeCase c = matmul_case(400, 32, 22);
  expect_close(c, Precision::kFp32, 1e-4);
  expect_close(c, Precision::kFp16, 1e-2);
}

// A tuned cuBLASLt algorithm goes into the timing cache; the next build takes it from there
// (same algorithm, same result, nothing timed).
TEST(CudaOps, MatMulAlgoIsReusedFromTheTimingCache) {
  KILN_REQUIRE_GPU();
  const NodeCase c = matmul_case(256, 32, 40);
  const ir::Graph g = make_graph(c, {{1, 2, 256, 256}});
  BuildOptions opt = test_build_options(Precision::kFp16);
  opt.timing_cache_path = ::testing::TempDir() + "kiln_matmul_cache_test.tsv";
  std::remove(opt.timing_cache_path.c_str());
  std::vector<std::string> tactics;
  std::vector<ir::Tensor> outs;
  for (int build = 0; build < 2; ++build) {
    auto engine = Engine::build(g, opt);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    for (const Tactic& t : (*engine)->tactics())
      if (t.tactic.rfind("cublaslt", 0) == 0) tactics.push_back(t.tactic);
    auto ctx = ExecutionContext::create(**engine);
    ASSERT_TRUE(ctx.ok()) << ctx.status().message();
    auto out = (*ctx)->run(c.inputs);
    ASSERT_TRUE(out.ok()) << out.status().message();
    outs.push_back((*out)[0]);
  }
  ASSERT_EQ(tactics.size(), 2u);
  std::cout << "cold: " << tactics[0] << ", warm: " << tactics[1] << std::endl;
  EXPECT_EQ(tactics[1], tactics[0] + " (cached)");
  EXPECT_LE(relative_max_error(outs[1], outs[0]), 1e-6);
  std::remove(opt.timing_cache_path.c_str());
}

TEST(CudaOps, TransposeDfl) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Transpose";
  c.num_inputs = 1;
  c.inputs = {random_tensor({1, 4, 16, 8400}, 24)};
  c.attrs = {{"perm", std::vector<int64_t>{0, 2, 1, 3}}};
  expect_close(c, Precision::kFp32, 0);
}

TEST(CudaOps, AddSameShapeAndBroadcast) {
  KILN_REQUIRE_GPU();
  NodeCase same;
  same.op_type = "Add";
  same.num_inputs = 2;
  same.inputs = {random_tensor({1, 32, 80, 80}, 25), random_tensor({1, 32, 80, 80}, 26)};
  expect_close(same, Precision::kFp32, 1e-6);
  expect_close(same, Precision::kFp16, 1e-3);
  NodeCase bc;  // the anchor arithmetic of the detect head: [1,2,8400] - [1,2,8400]-shaped constant
  bc.op_type = "Sub";
  bc.num_inputs = 2;
  bc.inputs = {random_tensor({1, 2, 8400}, 27, 0.f, 80.f)};
  bc.constants[0] = random_tensor({1, 2, 8400}, 28, 0.f, 80.f);
  expect_close(bc, Precision::kFp32, 1e-6);
  NodeCase scalar;
  scalar.op_type = "Mul";
  scalar.num_inputs = 2;
  scalar.inputs = {random_tensor({1, 4, 8400}, 29)};
  scalar.constants[1] = random_tensor({1, 8400}, 30, 8.f, 32.f);
  expect_close(scalar, Precision::kFp32, 1e-6);
  expect_close(scalar, Precision::kFp16, 1e-3);
}

// A one-value operand (attention's scale on its [N, heads, 400, 400] scores; a rank-0 and a
// [1, 1, 1, 1] constant; an odd element count that takes the one-element kernel), and Sub
// and Div, whose operands do not commute.
TEST(CudaOps, BinaryWithOneValueOperand) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"Mul", "Sub", "Div"})
    for (std::vector<int64_t> scalar_dims : {std::vector<int64_t>{}, std::vector<int64_t>{1, 1, 1, 1}})
      for (std::vector<int64_t> dims : {std::vector<int64_t>{1, 2, 400, 400}, std::vector<int64_t>{1, 3, 5, 7}}) {
        NodeCase c;
        c.op_type = op;
        c.num_inputs = 2;
        c.inputs = {random_tensor(dims, 31)};
        c.constants[1] = random_tensor(scalar_dims, 32, 0.5f, 2.f);
        expect_close(c, Precision::kFp32, 1e-6);
        expect_close(c, Precision::kFp16, 1e-3);
      }
}

TEST(CudaOps, SigmoidAndSiLU) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"Sigmoid", "SiLU"}) {
    NodeCase c;
    c.op_type = op;
    c.num_inputs = 1;
    c.inputs = {random_tensor({1, 80, 40, 40}, 31, -8.f, 8.f)};
    expect_close(c, Precision::kFp32, 1e-5);
    expect_close(c, Precision::kFp16, 1e-2);
  }
}

// The OBB head's angle: cos/sin of values in (-pi/4, 3pi/4) (sigmoid-scaled), wider here.
TEST(CudaOps, CosAndSin) {
  KILN_REQUIRE_GPU();
  for (const char* op : {"Cos", "Sin"}) {
    NodeCase c;
    c.op_type = op;
    c.num_inputs = 1;
    c.inputs = {random_tensor({1, 1, 21504}, 33, -3.2f, 3.2f)};
    expect_close(c, Precision::kFp32, 1e-5);
    expect_close(c, Precision::kFp16, 1e-2);
  }
}

TEST(CudaOps, SliceRows) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Slice";
  c.num_inputs = 5;
  c.inputs = {random_tensor({1, 4, 8400}, 32)};
  c.constants[1] = ir::Tensor::from_vector<int64_t>({1}, {2});
  c.constants[2] = ir::Tensor::from_vector<int64_t>({1}, {4});
  c.constants[3] = ir::Tensor::from_vector<int64_t>({1}, {1});
  c.constants[4] = ir::Tensor::from_vector<int64_t>({1}, {1});
  expect_close(c, Precision::kFp32, 0);
}

TEST(CudaOps, ReshapeIsAView) {
  KILN_REQUIRE_GPU();
  NodeCase c;
  c.op_type = "Reshape";
  c.num_inputs = 2;
  c.inputs = {random_tensor({1, 64, 80, 80}, 33)};
  c.constants[1] = ir::Tensor::from_vector<int64_t>({3}, {1, 64, 6400});
  expect_close(c, Precision::kFp32, 0);
}

TEST(CudaOps, NoGpuMeansCleanError) {
  if (gpu_available()) GTEST_SKIP() << "only meaningful without a GPU";
  ir::Graph g;
  auto r = Engine::build(g, BuildOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no CUDA device"), std::string::npos);
}

}  // namespace
}  // namespace kiln::cuda::test
