// The CUDA ops of the segment, classify and OSNet (ReID) graphs against the CPU reference,
// on random inputs of their real layer shapes (plus cases for the attributes those models
// leave at defaults): ConvTranspose, AveragePool, GlobalAveragePool, ReduceMean,
// BatchNormalization, Gemm. FP32 max error <= 1e-4 of the reference's range (1e-3 for
// cuBLAS), FP16 <= 1e-2. Outputs start NaN-poisoned, so an unwritten element fails.
// Cases "after a conv" put a 1x1 Conv in front, so the op reads NHWC data as in the models;
// the others read the graph input in NCHW order.
#include <gtest/gtest.h>

#include <functional>

#include "cuda_test_util.h"

namespace kiln::cuda::test {
namespace {

using Attrs = std::map<std::string, ir::AttrValue>;

// A 1x1 Conv (C -> C, random weights) on graph input 0, feeding the case's node as input 0.
ir::Graph make_graph_after_conv(const NodeCase& c, const std::vector<std::vector<int64_t>>& out_shapes) {
  ir::Graph g;
  const ir::Tensor& x = c.inputs.at(0);
  const int64_t ch = x.dim(1);
  ir::Value* in = g.add_value("in0");
  in->dtype = ir::DType::kFloat32;
  in->shape = ir::make_shape(x.shape());
  g.inputs.push_back(in);
  ir::Value* w = g.add_constant("conv_w", random_tensor({ch, ch, 1, 1}, 901, -0.5f, 0.5f));
  ir::Value* bias = g.add_constant("conv_b", random_tensor({ch}, 902));
  ir::Value* conv_out = g.add_value("conv_out");
  conv_out->dtype = ir::DType::kFloat32;
  conv_out->shape = ir::make_shape(x.shape());
  ir::Node* conv = g.add_node("Conv", "conv0", {in, w, bias}, {conv_out});
  conv->attrs = {{"kernel_shape", std::vector<int64_t>{1, 1}}};
  std::vector<ir::Value*> ins = {conv_out};
  for (size_t i = 1; i < c.num_inputs; ++i) ins.push_back(g.add_constant("c" + std::to_string(i), c.constants.at(i)));
  add_case_node(g, c, ins, out_shapes);
  return g;
}

// The conv in front of an op only lays data out (NHWC) for the op under test: it runs our
// direct kernel, which spares cuDNN plan compiles.
void expect_close(const NodeCase& c, Precision p, double tol, bool after_conv = false) {
  BothResults r = after_conv ? run_graph_both([&](const auto& shapes) { return make_graph_after_conv(c, shapes); },
                                              {c.inputs.at(0)}, p, /*direct_conv=*/true)
                             : run_both(c, p);
  expect_outputs_close(r, c, p, tol, after_conv ? " after conv" : "");
}

// Both precisions, reading NCHW graph input and NHWC conv output.
void expect_close_all(const NodeCase& c, double fp32_tol, double fp16_tol) {
  expect_close(c, Precision::kFp32, fp32_tol);
  expect_close(c, Precision::kFp16, fp16_tol);
  expect_close(c, Precision::kFp32, fp32_tol, /*after_conv=*/true);
  expect_close(c, Precision::kFp16, fp16_tol, /*after_conv=*/true);
}

NodeCase conv_transpose_case(std::vector<int64_t> x_shape, std::vector<int64_t> w_shape, Attrs attrs,
                             uint32_t seed) {
  NodeCase c;
  c.op_type = "ConvTranspose";
  c.num_inputs = 3;
  const int64_t k = w_shape[1] * (attrs.count("group") ? std::get<int64_t>(attrs.at("group")) : 1);
  c.inputs = {random_tensor(std::move(x_shape), seed)};
  c.constants[1] = random_tensor(std::move(w_shape), seed + 1, -0.3f, 0.3f);
  c.constants[2] = random_tensor({k}, seed + 2);
  c.attrs = std::move(attrs);
  return c;
}

// yolov8n-seg's proto upsample: [1,64,80,80] -> [1,64,160,160], 2x2 kernel, stride 2.
TEST(CudaOpsExtra, ConvTransposeSegProto) {
  KILN_REQUIRE_GPU();
  NodeCase c = conv_transpose_case({1, 64, 80, 80}, {64, 64, 2, 2},
                                   {{"kernel_shape", std::vector<int64_t>{2, 2}},
                                    {"strides", std::vector<int64_t>{2, 2}},
                                    {"pads", std::vector<int64_t>{0, 0, 0, 0}}},
                                   31);
  expect_close_all(c, 1e-4, 1e-2);
}

// The upsample kernel's edges: a last tile of fewer than 16 pixels, several column tiles
// (R*S*K = 576 > 256), a non-square kernel.
TEST(CudaOpsExtra, ConvTransposeUpsamplePartialTiles) {
  KILN_REQUIRE_GPU();
  NodeCase c = conv_transpose_case({1, 40, 5, 7}, {40, 96, 3, 2},
                                   {{"kernel_shape", std::vector<int64_t>{3, 2}},
                                    {"strides", std::vector<int64_t>{3, 2}}},
                                   30);
  expect_close_all(c, 1e-4, 1e-2);
}

// Overlapping taps, padding, output_padding, dilation and groups together.
TEST(CudaOpsExtra, ConvTransposeGroupedPaddedDilated) {
  KILN_REQUIRE_GPU();
  NodeCase c = conv_transpose_case({2, 8, 9, 7}, {8, 3, 3, 3},
                                   {{"kernel_shape", std::vector<int64_t>{3, 3}},
                                    {"strides", std::vector<int64_t>{2, 3}},
                                    {"pads", std::vector<int64_t>{1, 0, 2, 1}},
                                    {"dilations", std::vector<int64_t>{1, 2}},
                                    {"output_padding", std::vector<int64_t>{1, 0}},
                                    {"group", int64_t{2}}},
                                   32);
  expect_close_all(c, 1e-4, 1e-2);
}

NodeCase avgpool_case(std::vector<int64_t> x_shape, std::vector<int64_t> k, std::vector<int64_t> strides,
                      std::vector<int64_t> pads, int64_t include_pad, int64_t ceil_mode, uint32_t seed) {
  NodeCase c;
  c.op_type = "AveragePool";
  c.num_inputs = 1;
  c.inputs = {random_tensor(std::move(x_shape), seed)};
  c.attrs = {{"kernel_shape", std::move(k)},        {"strides", std::move(strides)},
             {"pads", std::move(pads)},             {"count_include_pad", include_pad},
             {"ceil_mode", ceil_mode}};
  return c;
}

// OSNet's transition pools: 2x2, stride 2, count_include_pad 1.
TEST(CudaOpsExtra, AveragePoolOsnet) {
  KILN_REQUIRE_GPU();
  expect_close_all(avgpool_case({1, 64, 64, 32}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 1, 0, 33), 1e-5, 1e-2);
}

// Padding counted and not counted, and ceil_mode's partial last windows.
TEST(CudaOpsExtra, AveragePoolPaddedCeilMode) {
  KILN_REQUIRE_GPU();
  for (int64_t include_pad : {0, 1})
    for (int64_t ceil_mode : {0, 1}) {
      SCOPED_TRACE("count_include_pad " + std::to_string(include_pad) + ", ceil_mode " + std::to_string(ceil_mode));
      expect_close_all(avgpool_case({2, 16, 11, 14}, {3, 3}, {2, 2}, {1, 1, 1, 0}, include_pad, ceil_mode, 34), 1e-5,
                       1e-2);
      // 3 channels: no 8-byte vectors, the scalar kernel.
      expect_close_all(avgpool_case({1, 3, 11, 14}, {3, 3}, {2, 2}, {1, 1, 1, 0}, include_pad, ceil_mode, 35), 1e-5,
                       1e-2);
    }
}

// yolo11n-cls's head pool [1,1280,7,7] and OSNet's channel-gate pools [1,16,64,32].
TEST(CudaOpsExtra, GlobalAveragePool) {
  KILN_REQUIRE_GPU();
  for (auto shape : {std::vector<int64_t>{1, 1280, 7, 7}, std::vector<int64_t>{1, 16, 64, 32},
                     std::vector<int64_t>{2, 96, 16, 8}}) {
    SCOPED_TRACE(ir::shape_to_string(shape));
    NodeCase c;
    c.op_type = "GlobalAveragePool";
    c.num_inputs = 1;
    c.inputs = {random_tensor(shape, 35)};
    expect_close_all(c, 1e-5, 1e-2);
  }
}

NodeCase reduce_mean_case(std::vector<int64_t> x_shape, std::vector<int64_t> axes, int64_t keepdims, uint32_t seed) {
  NodeCase c;
  c.op_type = "ReduceMean";
  c.num_inputs = 2;
  const int64_t n = static_cast<int64_t>(axes.size());
  c.inputs = {random_tensor(std::move(x_shape), seed)};
  c.constants[1] = ir::Tensor::from_vector<int64_t>({n}, axes);
  c.attrs = {{"keepdims", keepdims}};
  return c;
}

// OSNet opset 18: ReduceMean(axes [2,3], keepdims 1) in place of GlobalAveragePool.
TEST(CudaOpsExtra, ReduceMeanSpatialKeepdims) {
  KILN_REQUIRE_GPU();
  expect_close_all(reduce_mean_case({1, 16, 64, 32}, {2, 3}, 1, 36), 1e-5, 1e-2);
}

// Other axis sets: channels (adjacent to W in NHWC memory), the last axis without
// keepdims, everything but the batch.
TEST(CudaOpsExtra, ReduceMeanOtherAxes) {
  KILN_REQUIRE_GPU();
  expect_close_all(reduce_mean_case({2, 24, 5, 7}, {1}, 1, 37), 1e-5, 1e-2);
  // C and W are one block only in NHWC memory.
  expect_close(reduce_mean_case({2, 24, 5, 7}, {1, -1}, 1, 38), Precision::kFp32, 1e-5, /*after_conv=*/true);
  expect_close_all(reduce_mean_case({2, 24, 5, 7}, {2, 3}, 0, 39), 1e-5, 1e-2);
  expect_close(reduce_mean_case({2, 24, 5, 7}, {-1}, 0, 40), Precision::kFp32, 1e-5);
  expect_close(reduce_mean_case({2, 24, 5, 7}, {1, 2, 3}, 0, 41), Precision::kFp32, 1e-5);
}

// Axes that are not one block in memory (H and C of NHWC data) are refused by name.
TEST(CudaOpsExtra, ReduceMeanNonAdjacentAxesRefused) {
  KILN_REQUIRE_GPU();
  NodeCase c = reduce_mean_case({1, 8, 6, 5}, {1, 2}, 1, 42);
  ir::Graph g = make_graph_after_conv(c, {{1, 1, 1, 5}});
  auto engine = Engine::build(g, test_build_options(Precision::kFp32));
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("node0"), std::string::npos) << engine.status().message();
  EXPECT_NE(engine.status().message().find("not adjacent"), std::string::npos) << engine.status().message();
}

NodeCase batch_norm_case(std::vector<int64_t> x_shape, uint32_t seed) {
  NodeCase c;
  c.op_type = "BatchNormalization";
  c.num_inputs = 5;
  const int64_t ch = x_shape[1];
  c.inputs = {random_tensor(std::move(x_shape), seed)};
  c.constants[1] = random_tensor({ch}, seed + 1, 0.5f, 1.5f);
  c.constants[2] = random_tensor({ch}, seed + 2);
  c.constants[3] = random_tensor({ch}, seed + 3);
  c.constants[4] = random_tensor({ch}, seed + 4, 0.1f, 2.f);
  c.attrs = {{"epsilon", 1e-5f}};
  return c;
}

// OSNet's fc.1 after the Gemm: [1,512]; and a rank-4 one on both layouts.
TEST(CudaOpsExtra, BatchNormalization) {
  KILN_REQUIRE_GPU();
  NodeCase fc = batch_norm_case({1, 512}, 43);
  expect_close(fc, Precision::kFp32, 1e-5);
  expect_close(fc, Precision::kFp16, 1e-2);
  expect_close_all(batch_norm_case({2, 24, 9, 7}, 44), 1e-5, 1e-2);
}

NodeCase gemm_case(std::vector<int64_t> a_shape, std::vector<int64_t> b_shape, std::optional<ir::Tensor> c_tensor,
                   Attrs attrs, uint32_t seed) {
  NodeCase c;
  c.op_type = "Gemm";
  c.num_inputs = c_tensor ? 3 : 2;
  c.inputs = {random_tensor(std::move(a_shape), seed)};
  c.constants[1] = random_tensor(std::move(b_shape), seed + 1, -0.2f, 0.2f);
  if (c_tensor) c.constants[2] = std::move(*c_tensor);
  c.attrs = std::move(attrs);
  return c;
}

// yolo11n-cls's classifier [1,1280] x [1000,1280]^T + bias and OSNet's fc [1,128] x [512,128]^T.
TEST(CudaOpsExtra, GemmClassifierHeads) {
  KILN_REQUIRE_GPU();
  for (auto [k, n] : {std::pair<int64_t, int64_t>{1280, 1000}, {128, 512}}) {
    NodeCase c = gemm_case({1, k}, {n, k}, random_tensor({n}, 50), {{"transB", int64_t{1}}}, 51);
    expect_close(c, Precision::kFp32, 1e-4);
    expect_close(c, Precision::kFp16, 1e-2);
  }
}

// transA, no transB, alpha and beta, C broadcast along N ([M,1]) and no C at all.
TEST(CudaOpsExtra, GemmTransposedScaledBroadcastC) {
  KILN_REQUIRE_GPU();
  Attrs attrs = {{"transA", int64_t{1}}, {"alpha", 0.5f}, {"beta", 2.f}};
  NodeCase c = gemm_case({64, 3}, {64, 48}, random_tensor({3, 1}, 52), attrs, 53);
  expect_close(c, Precision::kFp32, 1e-4);
  expect_close(c, Precision::kFp16, 1e-2);
  NodeCase no_c = gemm_case({5, 64}, {48, 64}, std::nullopt, {{"transB", int64_t{1}}, {"alpha", 2.f}}, 54);
  expect_close(no_c, Precision::kFp32, 1e-4);
}

// C as a runtime [M,N] input: read by the epilogue kernel instead of folded into a bias.
TEST(CudaOpsExtra, GemmRuntimeC) {
  KILN_REQUIRE_GPU();
  NodeCase c = gemm_case({4, 96}, {96, 40}, std::nullopt, {{"beta", 0.5f}}, 55);
  c.num_inputs = 3;
  c.inputs.push_back(random_tensor({4, 40}, 56));
  expect_close(c, Precision::kFp32, 1e-4);
  expect_close(c, Precision::kFp16, 1e-2);
}

// OSNet's fc: Gemm -> BatchNormalization, the BN folded into the Gemm's epilogue.
TEST(CudaOpsExtra, GemmFoldsFollowingBatchNorm) {
  KILN_REQUIRE_GPU();
  const NodeCase bn = batch_norm_case({1, 512}, 57);
  const ir::Tensor a = random_tensor({1, 128}, 58);
  auto make = [&](const std::vector<std::vector<int64_t>>& shapes) {
    ir::Graph g;
    ir::Value* in = g.add_value("in0");
    in->dtype = ir::DType::kFloat32;
    in->shape = ir::make_shape(a.shape());
    g.inputs.push_back(in);
    ir::Value* fc = g.add_value("fc");
    fc->dtype = ir::DType::kFloat32;
    fc->shape = ir::make_shape({1, 512});
    ir::Node* gemm = g.add_node("Gemm", "gemm0",
                                {in, g.add_constant("w", random_tensor({512, 128}, 59, -0.2f, 0.2f)),
                                 g.add_constant("bias", random_tensor({512}, 60, 50.f, 60.f))},
                                {fc});
    gemm->attrs = {{"transB", int64_t{1}}};
    std::vector<ir::Value*> bn_in = {fc};
    for (size_t i = 1; i < 5; ++i) bn_in.push_back(g.add_constant("bn" + std::to_string(i), bn.constants.at(i)));
    ir::Value* out = g.add_value("out0");
    if (!shapes.empty()) out->shape = ir::make_shape(shapes[0]);
    g.add_node("BatchNormalization", "bn0", bn_in, {out})->attrs = bn.attrs;
    g.outputs = {out};
    return g;
  };
  for (auto [p, tol] : {std::pair<Precision, double>{Precision::kFp32, 1e-4}, {Precision::kFp16, 1e-2}}) {
    BothResults r = run_graph_both(make, {a}, p, /*direct_conv=*/true);
    ASSERT_EQ(r.cuda.size(), 1u);
    const double err = relative_max_error(r.cuda[0], r.cpu[0]);
    std::cout << "Gemm+BatchNormalization " << to_string(p) << " error " << err << std::endl;
    EXPECT_LE(err, tol) << to_string(p);
    bool folded = false;
    for (const auto& t : r.tactics) {
      EXPECT_NE(t.node, "bn0") << "the BatchNormalization got a step of its own";
      if (t.node == "gemm0") folded = t.tactic.find("+batchnorm") != std::string::npos;
    }
    EXPECT_TRUE(folded);
  }
}

}  // namespace
}  // namespace kiln::cuda::test
