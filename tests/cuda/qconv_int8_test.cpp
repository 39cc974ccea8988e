// The CUDA INT8 ops against the CPU integer reference on random data: QuantizeLinear ->
// QConvInt8 (-> DequantizeLinear) over yolo11n's conv kinds (1x1, 3x3 stride 1 and 2,
// depthwise (16 and 4 channels per thread, and the direct kernel for other channel counts),
// grouped; every tensor-core tile, with 16-byte and 4-byte loads) with every epilogue (SiLU,
// residual, int8 or float output), on tensor cores and on dp4a, and QuantizeLinear /
// DequantizeLinear alone.
// With the float parts in FP32 the integer path is exact: equal int8 outputs and equal float
// outputs, except that SiLU's expf differs by an ulp between the GPU and the C library, which
// may move an int8 output by one step; and the tensor-core and depthwise kernels' epilogue
// takes the float steps in fewer instructions (fused multiply-adds, the hardware's exp2 and
// reciprocal), so their outputs are within a few ulp, or within one quantization step, of
// the CPU's.
#include "ir/qconv_int8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cuda_test_util.h"

namespace kiln::cuda::test {
namespace {

namespace qconv = ir::qconv;

constexpr float kXScale = 1.f / 127.f;  // x uniform in [-1, 1] spans the int8 range
constexpr float kYScale = 4.f / 127.f;  // y is about N(0, 1): a few saturate

struct QConvCase {
  const char* name;
  int64_t n, c, h, k, ksize, stride, group;
  int8_t x_zero = 0;
  const char* mma = "";  // the tactic on tensor cores (tiled shapes)
};

struct Epilogue {
  bool silu, residual, int8_out;
  std::string name() const {
    return std::string(silu ? "silu" : "linear") + (residual ? "+residual" : "") + (int8_out ? " int8" : " float");
  }
};

ir::Tensor random_int8(std::vector<int64_t> shape, uint32_t seed) {
  const ir::Tensor f = random_tensor(std::move(shape), seed, -127.f, 127.f);
  ir::Tensor q(ir::DType::kInt8, f.shape());
  for (int64_t i = 0; i < f.numel(); ++i) q.data<int8_t>()[i] = static_cast<int8_t>(std::lrint(f.data<float>()[i]));
  return q;
}

// x -> QuantizeLinear -> QConvInt8 [-> DequantizeLinear] -> y, with the residual as a
// second graph input. Weight scales make y about N(0, 1), varying by channel.
ir::Graph qconv_graph(const QConvCase& c, const Epilogue& e, const std::vector<std::vector<int64_t>>& out_shapes) {
  ir::Graph g;
  const int64_t pad = c.ksize / 2, oh = (c.h + 2 * pad - c.ksize) / c.stride + 1;
  ir::Value* x = g.add_value("x");
  x->shape = ir::make_shape({c.n, c.c, c.h, c.h});
  g.inputs = {x};
  ir::Value* xs = g.add_constant("x_scale", ir::Tensor::scalar<float>(kXScale));
  ir::Value* xz = g.add_constant("x_zero", ir::Tensor::scalar<int8_t>(c.x_zero));
  ir::Value* xq = g.add_value("x_q");
  xq->dtype = ir::DType::kInt8;
  xq->shape = x->shape;
  g.add_node("QuantizeLinear", "quantize", {x, xs, xz}, {xq});

  const int64_t cg = c.c / c.group, fan_in = cg * c.ksize * c.ksize;
  std::vector<float> w_scale(static_cast<size_t>(c.k)), bias(static_cast<size_t>(c.k));
  const ir::Tensor b = random_tensor({c.k}, 11);
  for (int64_t k = 0; k < c.k; ++k) {
    w_scale[k] = (0.5f + 0.1f * static_cast<float>(k % 8)) / (kXScale * std::sqrt(float(fan_in)) * 73.f * 73.f);
    bias[k] = b.data<float>()[k];
  }
  std::vector<ir::Value*> in(qconv::kInputCount, nullptr);
  in[qconv::kX] = xq;
  in[qconv::kXScale] = xs;
  in[qconv::kXZeroPoint] = xz;
  in[qconv::kW] = g.add_constant("w_q", random_int8({c.k, cg, c.ksize, c.ksize}, 12));
  in[qconv::kWScale] = g.add_constant("w_scale", ir::Tensor::from_vector<float>({c.k}, w_scale));
  in[qconv::kBias] = g.add_constant("bias", ir::Tensor::from_vector<float>({c.k}, bias));
  const std::vector<int64_t> out_dims = {c.n, c.k, oh, oh};
  if (e.residual) {
    ir::Value* r = g.add_value("residual");
    r->shape = ir::make_shape(out_dims);
    g.inputs.push_back(r);
    in[qconv::kResidual] = r;
  }
  if (e.int8_out) {
    in[qconv::kYScale] = g.add_constant("y_scale", ir::Tensor::scalar<float>(kYScale));
    in[qconv::kYZeroPoint] = g.add_constant("y_zero", ir::Tensor::scalar<int8_t>(0));
  }
  while (!in.back()) in.pop_back();
  ir::Value* y = g.add_value("y");
  y->dtype = e.int8_out ? ir::DType::kInt8 : ir::DType::kFloat32;
  y->shape = ir::make_shape(out_dims);
  ir::Node* conv = g.add_node(qconv::kOpType, "qconv", in, {y});
  conv->attrs = {{"kernel_shape", std::vector<int64_t>{c.ksize, c.ksize}},
                 {"strides", std::vector<int64_t>{c.stride, c.stride}},
                 {"pads", std::vector<int64_t>{pad, pad, pad, pad}},
                 {"dilations", std::vector<int64_t>{1, 1}},
                 {"group", c.group}};
  if (e.silu) conv->attrs[qconv::kActivationAttr] = std::string(qconv::kSiLU);
  if (e.int8_out) {
    ir::Value* f = g.add_value("y_float");
    f->shape = y->shape;
    g.add_node("DequantizeLinear", "dequantize", {y, in[qconv::kYScale], in[qconv::kYZeroPoint]}, {f});
    y = f;
  }
  if (!out_shapes.empty()) y->shape = ir::make_shape(out_shapes[0]);
  g.outputs = {y};
  return g;
}

std::vector<ir::Tensor> qconv_inputs(const QConvCase& c, const Epilogue& e) {
  std::vector<ir::Tensor> in = {random_tensor({c.n, c.c, c.h, c.h}, 13)};
  const int64_t oh = (c.h + 2 * (c.ksize / 2) - c.ksize) / c.stride + 1;
  if (e.residual) in.push_back(random_tensor({c.n, c.k, oh, oh}, 14, -2.f, 2.f));
  return in;
}

struct Mismatch {
  int64_t count = 0;
  double max_abs = 0;
};

Mismatch compare(const ir::Tensor& got, const ir::Tensor& want) {
  Mismatch m;
  EXPECT_EQ(got.shape(), want.shape());
  if (got.shape() != want.shape()) return {want.numel(), 1e30};
  for (int64_t i = 0; i < want.numel(); ++i) {
    const float a = got.data<float>()[i], b = want.data<float>()[i];
    if (a == b) continue;
    ++m.count;
    m.max_abs = std::isfinite(a) ? std::max(m.max_abs, static_cast<double>(std::fabs(a - b))) : 1e30;
  }
  return m;
}

class QConvInt8Test : public ::testing::TestWithParam<QConvCase> {};

// Float parts in FP32; tensor_cores: the tensor-core kernels where the GPU has them (else dp4a).
std::function<void(BuildOptions&)> exact_options(bool tensor_cores) {
  return [tensor_cores](BuildOptions& o) {
    o.int8_float = Precision::kFp32;
    o.int8_tensor_cores = tensor_cores;
  };
}

TEST_P(QConvInt8Test, MatchesCpuIntegerKernel) {
  KILN_REQUIRE_GPU();
  const QConvCase& c = GetParam();
  const bool depthwise = c.group == c.c && c.k == c.c && c.c % 4 == 0, tiled = (c.c / c.group) % 4 == 0;
  std::vector<Epilogue> epilogues;
  for (bool silu : {false, true})
    for (bool residual : {false, true})
      for (bool int8_out : {false, true}) epilogues.push_back({silu, residual, int8_out});
  for (const bool tensor_cores : {true, false}) {
    for (const Epilogue& e : epilogues) {
      BothResults r = run_graph_both([&](const auto& shapes) { return qconv_graph(c, e, shapes); },
                                     qconv_inputs(c, e), Precision::kInt8, false, exact_options(tensor_cores));
      ASSERT_EQ(r.cuda.size(), 1u) << e.name();
      std::string tactic;
      bool quantize_step = false;
      for (const Tactic& t : r.tactics) {
        if (t.node == "qconv") tactic = t.tactic;
        quantize_step = quantize_step || t.tactic == "quantize_int8";
      }
      if (depthwise) {
        EXPECT_EQ(tactic, "int8_depthwise") << e.name();
      } else if (!tiled) {
        EXPECT_EQ(tactic, "int8_direct") << e.name();
      } else if (c.mma == std::string("int8_pixel")) {
        EXPECT_EQ(tactic, c.mma) << e.name();
      } else if (!tensor_cores) {
        EXPECT_EQ(tactic, "int8_dp4a_tiled") << e.name();
      } else {
        EXPECT_TRUE(tactic == c.mma || tactic == "int8_dp4a_tiled") << tactic;  // mma from sm_80
      }
      EXPECT_TRUE(quantize_step) << tactic << " " << e.name();
      const std::string& how = tactic;
      const Mismatch m = compare(r.cuda[0], r.cpu[0]);
      std::cout << c.name << " " << how << " " << e.name() << ": " << m.count << " of " << r.cpu[0].numel()
                << " differ, max " << m.max_abs << std::endl;
      const bool fast_epilogue =
          tactic.rfind("int8_mma", 0) == 0 || tactic == "int8_depthwise" || tactic == "int8_pixel";
      if (!e.silu && !fast_epilogue) {
        EXPECT_EQ(m.count, 0) << how << " " << e.name();
      } else if (e.int8_out) {
        EXPECT_LE(m.max_abs, kYScale * 1.0001) << how << " " << e.name();  // one quantization step
        EXPECT_LE(m.count, r.cpu[0].numel() / 1000 + 1) << how << " " << e.name();
      } else {
        EXPECT_LE(relative_max_error(r.cuda[0], r.cpu[0]), 1e-6) << how << " " << e.name();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Yolo11nShapes, QConvInt8Test,
    ::testing::Values(QConvCase{"pw_1x1", 1, 64, 20, 32, 1, 1, 1, 0, "int8_mma_128x32"},
                      QConvCase{"pw_16ch_1x1", 1, 32, 12, 16, 1, 1, 1, 2, "int8_mma_128x16"},
                      QConvCase{"pw_cg12_narrow_1x1", 1, 12, 11, 16, 1, 1, 1, 0, "int8_mma_128x16"},
                      QConvCase{"pw_cg12_1x1", 1, 12, 11, 24, 1, 1, 1, 0, "int8_mma_128x32"},
                      QConvCase{"pw_cg12_wide_1x1", 1, 12, 11, 64, 1, 1, 1, 3, "int8_mma_64x64"},
                      QConvCase{"large_1x1", 16, 16, 64, 64, 1, 1, 1, 0, "int8_mma_128x64"},
                      QConvCase{"large_cg12_1x1", 16, 12, 64, 64, 1, 1, 1, -3, "int8_mma_128x64"},
                      QConvCase{"down_16ch_3x3_s2", 2, 16, 20, 64, 3, 2, 1, -5, "int8_mma_64x64"},
                      QConvCase{"down_3x3_s2", 2, 64, 20, 128, 3, 2, 1, 0, "int8_mma_64x64"},
                      QConvCase{"c3k2_3x3", 1, 32, 20, 32, 3, 1, 1, 0, "int8_mma_128x32"},
                      QConvCase{"c3k2_16ch_3x3", 2, 16, 20, 16, 3, 1, 1, 3, "int8_pixel"},
                      QConvCase{"c3k2_16to8_3x3", 2, 16, 20, 8, 3, 1, 1, 0, "int8_pixel"},
                      QConvCase{"c3k2_8to16_3x3", 2, 8, 20, 16, 3, 1, 1, -4, "int8_pixel"},
                      QConvCase{"narrow_32to8_3x3_s2", 1, 32, 15, 8, 3, 2, 1, 5, "int8_mma_128x16"},
                      QConvCase{"narrow_cg12_3x3", 1, 12, 11, 16, 3, 1, 1, 0, "int8_mma_128x16"},
                      QConvCase{"wide_cg12_3x3", 1, 12, 11, 96, 3, 1, 1, -4, "int8_mma_64x64"},
                      QConvCase{"dw_3x3", 1, 64, 20, 64, 3, 1, 64}, QConvCase{"dw_3x3_s2", 1, 64, 21, 64, 3, 2, 64},
                      QConvCase{"dw_3x3_vec4", 2, 20, 9, 20, 3, 1, 20},
                      QConvCase{"dw_3x3_odd_channels", 1, 6, 9, 6, 3, 1, 6, 2},
                      QConvCase{"grouped_cg6", 1, 12, 11, 8, 3, 1, 2},
                      QConvCase{"grouped_cg8_tiles", 1, 32, 13, 80, 3, 1, 4, 0, "int8_mma_128x32"},
                      QConvCase{"edge_tiles_3x3", 1, 16, 13, 80, 3, 1, 1, 0, "int8_mma_64x64"},
                      QConvCase{"zero_point_3x3", 1, 32, 9, 24, 3, 1, 1, 5, "int8_mma_128x32"},
                      QConvCase{"zero_point_dw", 1, 16, 9, 16, 3, 2, 16, -7}),
    [](const ::testing::TestParamInfo<QConvCase>& i) { return std::string(i.param.name); });

// FP16 float parts (the default of an INT8 engine): x reaches QuantizeLinear rounded to FP16
// and float outputs are stored in FP16, so results are close, not equal.
TEST(CudaQConvInt8, Fp16FloatPartsClose) {
  KILN_REQUIRE_GPU();
  // An FP16 QuantizeLinear step in front of a 3x3 and a 1x1 conv.
  for (const QConvCase& c :
       {QConvCase{"c3k2_3x3", 1, 32, 20, 32, 3, 1, 1}, QConvCase{"pw_1x1", 1, 64, 20, 32, 1, 1, 1}}) {
    for (const Epilogue& e : {Epilogue{true, true, true}, Epilogue{true, false, false}}) {
      BothResults r = run_graph_both([&](const auto& shapes) { return qconv_graph(c, e, shapes); }, qconv_inputs(c, e),
                                     Precision::kInt8, false, [](BuildOptions& o) { o.int8_float = Precision::kFp16; });
      ASSERT_EQ(r.cuda.size(), 1u);
      const double err = relative_max_error(r.cuda[0], r.cpu[0]);
      std::cout << "fp16 float parts " << c.name << " " << e.name() << ": error " << err << std::endl;
      EXPECT_LE(err, 2e-2) << c.name << " " << e.name();
    }
  }
}

// x -> QuantizeLinear -> DequantizeLinear on its own, per tensor (zero point 3; 560 elements:
// the 8-per-thread kernel, 60: one per thread) and per channel (axis 1, NHWC inside the
// engine), rank 4 and rank 2: exact.
TEST(CudaQConvInt8, QuantizeDequantizeExact) {
  KILN_REQUIRE_GPU();
  struct Case {
    std::vector<int64_t> shape;
    int64_t channels;  // scales along axis 1 (1: per tensor)
  };
  for (const Case& q : {Case{{2, 8, 5, 7}, 1}, Case{{1, 8, 5, 7}, 8}, Case{{6, 10}, 1}, Case{{6, 10}, 10}}) {
    const GraphMaker make = [&](const std::vector<std::vector<int64_t>>&) {
      ir::Graph g;
      ir::Value* x = g.add_value("x");
      x->shape = ir::make_shape(q.shape);
      g.inputs = {x};
      std::vector<float> scales;
      for (int64_t i = 0; i < q.channels; ++i) scales.push_back(0.01f + 0.003f * static_cast<float>(i));
      ir::Value* s = q.channels == 1 ? g.add_constant("s", ir::Tensor::scalar<float>(scales[0]))
                                     : g.add_constant("s", ir::Tensor::from_vector<float>({q.channels}, scales));
      ir::Value* z = q.channels == 1
                         ? g.add_constant("z", ir::Tensor::scalar<int8_t>(3))
                         : g.add_constant("z", ir::Tensor::from_vector<int8_t>({q.channels}, std::vector<int8_t>(q.channels, -2)));
      ir::Value* xq = g.add_value("x_q");
      xq->dtype = ir::DType::kInt8;
      xq->shape = x->shape;
      g.add_node("QuantizeLinear", "quantize", {x, s, z}, {xq})->attrs["axis"] = int64_t{1};
      ir::Value* y = g.add_value("y");
      y->shape = x->shape;
      g.add_node("DequantizeLinear", "dequantize", {xq, s, z}, {y})->attrs["axis"] = int64_t{1};
      g.outputs = {y};
      return g;
    };
    // Values up to twice the int8 range (saturation) and exact halves of a step (ties).
    ir::Tensor x = random_tensor(q.shape, 21, -3.f, 3.f);
    for (int64_t i = 0; i < x.numel(); i += 5) x.data<float>()[i] = 0.01f * (static_cast<float>(i % 40) - 20.f + 0.5f);
    BothResults r = run_graph_both(make, {x}, Precision::kInt8, false, exact_options(true));
    ASSERT_EQ(r.cuda.size(), 1u);
    EXPECT_EQ(compare(r.cuda[0], r.cpu[0]).count, 0) << ir::shape_to_string(q.shape) << " x" << q.channels;
  }
}

// Builds INT8 graphs of QuantizeLinear steps and QConvInt8 nodes with float outputs.
struct Int8GraphBuilder {
  ir::Graph g;
  uint32_t seed = 30;

  ir::Value* value(const std::string& name, std::vector<int64_t> dims, ir::DType dtype = ir::DType::kFloat32) {
    ir::Value* v = g.add_value(name);
    v->dtype = dtype;
    v->shape = ir::make_shape(dims);
    return v;
  }
  // x quantized with `scale` (zero point 0): the int8 tensor and its scale.
  std::pair<ir::Value*, ir::Value*> quantize(ir::Value* x, float scale) {
    ir::Value* xs = g.add_constant(x->name + "_scale", ir::Tensor::scalar<float>(scale));
    ir::Value* xz = g.add_constant(x->name + "_zero", ir::Tensor::scalar<int8_t>(0));
    ir::Value* xq = value(x->name + "_q", ir::static_dims(*x->shape), ir::DType::kInt8);
    g.add_node("QuantizeLinear", x->name + "_quantize", {x, xs, xz}, {xq});
    return {xq, xs};
  }
  // A same-size conv of x (quantized with `scale`) to k channels, float output.
  ir::Value* conv(const std::string& name, ir::Value* x, float scale, int64_t k, int64_t ksize, int64_t group,
                  bool silu = false, ir::Value* residual = nullptr) {
    const std::vector<int64_t> dims = ir::static_dims(*x->shape);
    const int64_t cg = dims[1] / group, pad = ksize / 2;
    auto [xq, xs] = quantize(x, scale);
    std::vector<float> w_scale(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) w_scale[i] = 1e-3f * static_cast<float>(1 + i % 5);
    std::vector<ir::Value*> in = {xq,
                                  xs,
                                  g.add_constant(name + "_x_zero", ir::Tensor::scalar<int8_t>(0)),
                                  g.add_constant(name + "_w", random_int8({k, cg, ksize, ksize}, seed++)),
                                  g.add_constant(name + "_w_scale", ir::Tensor::from_vector<float>({k}, w_scale)),
                                  g.add_constant(name + "_bias", random_tensor({k}, seed++))};
    if (residual) in.push_back(residual);
    ir::Value* y = value(name + "_y", {dims[0], k, dims[2], dims[3]});
    ir::Node* n = g.add_node(qconv::kOpType, name, in, {y});
    n->attrs = {{"kernel_shape", std::vector<int64_t>{ksize, ksize}},
                {"strides", std::vector<int64_t>{1, 1}},
                {"pads", std::vector<int64_t>{pad, pad, pad, pad}},
                {"dilations", std::vector<int64_t>{1, 1}},
                {"group", group}};
    if (silu) n->attrs[qconv::kActivationAttr] = std::string(qconv::kSiLU);
    return y;
  }
  ir::Value* concat(const std::string& name, std::vector<ir::Value*> in) {
    std::vector<int64_t> dims = ir::static_dims(*in[0]->shape);
    dims[1] = 0;
    for (const ir::Value* v : in) dims[1] += ir::static_dims(*v->shape)[1];
    ir::Value* cat = value(name, dims);
    g.add_node("Concat", name, std::move(in), {cat})->attrs = {{"axis", int64_t{1}}};
    return cat;
  }
};

std::string step_list(const BothResults& r) {
  std::string steps;
  for (const Tactic& t : r.tactics) steps += " [" + t.node + ": " + t.tactic + "]";
  return steps;
}

// x -> QuantizeLinear -> two QConvInt8 with float outputs (1x1 on tensor cores, depthwise
// 3x3) -> Concat: both write their channels of the Concat's buffer in place, so the Concat
// has no step, and each conv's outputs are within a few ulp of the CPU's.
TEST(CudaQConvInt8, FloatOutputsWrittenIntoConcat) {
  KILN_REQUIRE_GPU();
  constexpr int64_t kC = 16, kH = 9, kK = 32;
  const GraphMaker make = [&](const std::vector<std::vector<int64_t>>&) {
    Int8GraphBuilder b;
    ir::Value* x = b.value("x", {1, kC, kH, kH});
    b.g.inputs = {x};
    b.g.outputs = {
        b.concat("concat", {b.conv("pointwise", x, kXScale, kK, 1, 1), b.conv("depthwise", x, kXScale, kC, 3, kC)})};
    return std::move(b.g);
  };
  BothResults r = run_graph_both(make, {random_tensor({1, kC, kH, kH}, 33)}, Precision::kInt8, false,
                                 exact_options(true));
  ASSERT_EQ(r.cuda.size(), 1u);
  for (const Tactic& t : r.tactics) EXPECT_NE(t.node, "concat") << step_list(r);
  EXPECT_LE(relative_max_error(r.cuda[0], r.cpu[0]), 1e-6) << step_list(r);
}

// An INT8 C3k2 block: cv1 -> Split -> y0, y1; m = conv(y1) + y1; Concat(y0, y1, m) -> cv2.
// cv1 and m write into the Concat's buffer, the Split's outputs are views of it, and the
// quantize steps and m's residual read those views where they are: no Split, Concat or
// conversion step. Values match the CPU within what a one-step difference in the tensor-core
// kernels' requantization moves them.
TEST(CudaQConvInt8, SplitViewsQuantizedAndAddedInPlace) {
  KILN_REQUIRE_GPU();
  constexpr int64_t kN = 2, kC = 16, kH = 10, kHalf = 32;
  const GraphMaker make = [&](const std::vector<std::vector<int64_t>>&) {
    Int8GraphBuilder b;
    ir::Value* x = b.value("x", {kN, kC, kH, kH});
    b.g.inputs = {x};
    ir::Value* t = b.conv("cv1", x, kXScale, 2 * kHalf, 1, 1, true);
    ir::Value* y0 = b.value("y0", {kN, kHalf, kH, kH});
    ir::Value* y1 = b.value("y1", {kN, kHalf, kH, kH});
    ir::Value* sizes = b.g.add_constant("sizes", ir::Tensor::from_vector<int64_t>({2}, {kHalf, kHalf}));
    b.g.add_node("Split", "split", {t, sizes}, {y0, y1})->attrs = {{"axis", int64_t{1}}};
    ir::Value* m = b.conv("m", y1, 0.02f, kHalf, 3, 1, true, y1);
    b.g.outputs = {b.conv("cv2", b.concat("concat", {y0, y1, m}), 0.03f, kC, 1, 1)};
    return std::move(b.g);
  };
  BothResults r =
      run_graph_both(make, {random_tensor({kN, kC, kH, kH}, 34)}, Precision::kInt8, false, exact_options(true));
  ASSERT_EQ(r.cuda.size(), 1u);
  for (const Tactic& t : r.tactics) {
    EXPECT_NE(t.node, "split") << step_list(r);
    EXPECT_NE(t.node, "concat") << step_list(r);
    EXPECT_NE(t.node.rfind("convert ", 0), 0u) << step_list(r);  // a view packed for its reader
  }
  const double err = relative_max_error(r.cuda[0], r.cpu[0]);
  std::cout << "int8 C3k2 block: error " << err << step_list(r) << std::endl;
  EXPECT_LE(err, 5e-3) << step_list(r);
}

// The stem (a float conv reading the graph's NCHW input) feeding an INT8 conv: its kernel
// quantizes in its store, so the QuantizeLinear has no step, and the INT8 conv's outputs
// match the CPU's within what a one-step difference in a quantized input moves them.
TEST(CudaQConvInt8, StemQuantizedInItsStore) {
  KILN_REQUIRE_GPU();
  constexpr int64_t kN = 2, kH = 32, kStem = 16;
  const GraphMaker make = [&](const std::vector<std::vector<int64_t>>&) {
    Int8GraphBuilder b;
    ir::Value* x = b.value("x", {kN, 3, kH, kH});
    b.g.inputs = {x};
    ir::Value* y = b.value("stem_y", {kN, kStem, kH, kH});
    ir::Node* conv = b.g.add_node("Conv", "stem",
                                  {x, b.g.add_constant("stem_w", random_tensor({kStem, 3, 3, 3}, 40, -0.5f, 0.5f)),
                                   b.g.add_constant("stem_b", random_tensor({kStem}, 41, -0.2f, 0.2f))},
                                  {y});
    conv->attrs = {{"kernel_shape", std::vector<int64_t>{3, 3}},
                   {"strides", std::vector<int64_t>{1, 1}},
                   {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                   {"dilations", std::vector<int64_t>{1, 1}},
                   {"group", int64_t{1}}};
    ir::Value* a = b.value("stem", {kN, kStem, kH, kH});
    b.g.add_node("SiLU", "stem_silu", {y}, {a});
    b.g.outputs = {b.conv("cv", a, 0.02f, 32, 3, 1, true)};
    return std::move(b.g);
  };
  BothResults r =
      run_graph_both(make, {random_tensor({kN, 3, kH, kH}, 42)}, Precision::kInt8, false, exact_options(true));
  ASSERT_EQ(r.cuda.size(), 1u);
  bool fused = false;
  for (const Tactic& t : r.tactics) {
    EXPECT_NE(t.node, "stem_quantize") << step_list(r);
    fused = fused || (t.node == "stem" && t.tactic == "conv_nchw_input+quantize");
  }
  EXPECT_TRUE(fused) << step_list(r);
  const double err = relative_max_error(r.cuda[0], r.cpu[0]);
  std::cout << "stem + int8 conv: error " << err << step_list(r) << std::endl;
  EXPECT_LE(err, 5e-3) << step_list(r);
}

}  // namespace
}  // namespace kiln::cuda::test
