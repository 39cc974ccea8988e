// Convolution, pooling, resize, softmax and quantization kernels against hand-computed
// values or naive direct loops on random data.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/cpu/kernel.h"
#include "ir/op_set.h"
#include "run_op.h"

namespace kiln::cpu::test {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

TEST(CpuKernels, EverySupportedOpHasAKernel) {
  for (std::string_view op : ir::supported_ops()) EXPECT_NE(find_kernel(op), nullptr) << op;
  EXPECT_EQ(find_kernel("NotAnOp"), nullptr);
}

TEST(CpuNnOps, ConvMatchesDirectLoopWithGroupsStridePadsDilation) {
  const int64_t N = 2, C = 4, H = 7, W = 6, M = 6, G = 2, KH = 3, KW = 2;
  const int64_t sh = 2, sw = 1, dh = 1, dw = 2, pt = 1, pl = 2, pb = 0, pr = 1;
  const auto xv = random_values(N * C * H * W, 1);
  const auto wv = random_values(M * (C / G) * KH * KW, 2);
  const auto bv = random_values(M, 3);
  auto r = run_op({"Conv",
                   {tensor<float>({N, C, H, W}, xv), tensor<float>({M, C / G, KH, KW}, wv), tensor<float>({M}, bv)},
                   1,
                   {{"group", G},
                    {"strides", std::vector<int64_t>{sh, sw}},
                    {"dilations", std::vector<int64_t>{dh, dw}},
                    {"pads", std::vector<int64_t>{pt, pl, pb, pr}}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const int64_t OH = (H + pt + pb - (dh * (KH - 1) + 1)) / sh + 1;
  const int64_t OW = (W + pl + pr - (dw * (KW - 1) + 1)) / sw + 1;
  ASSERT_EQ((*r)[0].shape(), (std::vector<int64_t>{N, M, OH, OW}));
  const float* y = (*r)[0].data<float>();
  const int64_t cg = C / G, mg = M / G;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double acc = bv[m];
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < KH; ++ky)
              for (int64_t kx = 0; kx < KW; ++kx) {
                const int64_t iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const int64_t ci = (m / mg) * cg + c;
                acc += static_cast<double>(xv[((n * C + ci) * H + iy) * W + ix]) * wv[((m * cg + c) * KH + ky) * KW + kx];
              }
          EXPECT_NEAR(y[((n * M + m) * OH + oy) * OW + ox], acc, 1e-5);
        }
}

TEST(CpuNnOps, ConvTransposeMatchesScatterLoop) {
  const int64_t C = 3, H = 3, W = 4, M = 2, K = 2, S = 2;
  const auto xv = random_values(C * H * W, 4);
  const auto wv = random_values(C * M * K * K, 5);
  auto r = run_op({"ConvTranspose", {tensor<float>({1, C, H, W}, xv), tensor<float>({C, M, K, K}, wv)}, 1,
                   {{"strides", std::vector<int64_t>{S, S}}, {"kernel_shape", std::vector<int64_t>{K, K}}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)[0].shape(), (std::vector<int64_t>{1, M, H * S, W * S}));
  std::vector<double> ref(M * H * S * W * S, 0.0);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t iy = 0; iy < H; ++iy)
        for (int64_t ix = 0; ix < W; ++ix)
          for (int64_t ky = 0; ky < K; ++ky)
            for (int64_t kx = 0; kx < K; ++kx)
              ref[(m * H * S + iy * S + ky) * W * S + ix * S + kx] +=
                  static_cast<double>(xv[(c * H + iy) * W + ix]) * wv[((c * M + m) * K + ky) * K + kx];
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR((*r)[0].data<float>()[i], ref[i], 1e-5) << i;
}

TEST(CpuNnOps, MaxPoolCeilModeKeepsPartialWindow) {
  // 1x1x5x5 of 0..24, k=2, s=2: floor mode gives 2x2, ceil mode 3x3 with edge windows clipped.
  std::vector<float> v(25);
  for (int i = 0; i < 25; ++i) v[i] = static_cast<float>(i);
  std::map<std::string, ir::AttrValue> attrs = {{"kernel_shape", std::vector<int64_t>{2, 2}},
                                                {"strides", std::vector<int64_t>{2, 2}}};
  auto floor_mode = run_op({"MaxPool", {tensor<float>({1, 1, 5, 5}, v)}, 1, attrs});
  ASSERT_TRUE(floor_mode.ok());
  EXPECT_EQ(values_of<float>((*floor_mode)[0]), (std::vector<float>{6, 8, 16, 18}));
  attrs["ceil_mode"] = int64_t{1};
  auto ceil_mode = run_op({"MaxPool", {tensor<float>({1, 1, 5, 5}, v)}, 1, attrs});
  ASSERT_TRUE(ceil_mode.ok());
  EXPECT_EQ((*ceil_mode)[0].shape(), (std::vector<int64_t>{1, 1, 3, 3}));
  EXPECT_EQ(values_of<float>((*ceil_mode)[0]), (std::vector<float>{6, 8, 9, 16, 18, 19, 21, 23, 24}));
}

TEST(CpuNnOps, AveragePoolCountIncludePad) {
  // 1x1x2x2 ones, k=2, s=1, pads 1: corners see 1 real tap of 4.
  auto ones = tensor<float>({1, 1, 2, 2}, {1, 1, 1, 1});
  std::map<std::string, ir::AttrValue> attrs = {{"kernel_shape", std::vector<int64_t>{2, 2}},
                                                {"pads", std::vector<int64_t>{1, 1, 1, 1}}};
  auto excl = run_op({"AveragePool", {ones}, 1, attrs});
  ASSERT_TRUE(excl.ok());
  EXPECT_EQ(values_of<float>((*excl)[0]), std::vector<float>(9, 1.0f));
  attrs["count_include_pad"] = int64_t{1};
  auto incl = run_op({"AveragePool", {ones}, 1, attrs});
  ASSERT_TRUE(incl.ok());
  EXPECT_EQ(values_of<float>((*incl)[0]), (std::vector<float>{0.25f, 0.5f, 0.25f, 0.5f, 1, 0.5f, 0.25f, 0.5f, 0.25f}));
}

TEST(CpuNnOps, ResizeNearestAsymmetricFloor2x) {
  auto x = tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  auto r = run_op({"Resize", {x, std::nullopt, tensor<float>({4}, {1, 1, 2, 2})}, 1,
                   {{"mode", std::string("nearest")},
                    {"coordinate_transformation_mode", std::string("asymmetric")},
                    {"nearest_mode", std::string("floor")}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (std::vector<int64_t>{1, 1, 4, 4}));
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  // half_pixel + round_prefer_floor, sizes 1x1x1x3 on a 1x4 row (scale 0.75): sources
  // (j + 0.5) / 0.75 - 0.5 = 0.17, 1.5, 2.83 -> 0, 1 (tie goes down), 3. ONNX Runtime agrees.
  auto s = run_op({"Resize", {tensor<float>({1, 1, 1, 4}, {10, 20, 30, 40}), std::nullopt, std::nullopt,
                              tensor<int64_t>({4}, {1, 1, 1, 3})}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(values_of<float>((*s)[0]), (std::vector<float>{10, 20, 40}));
}

TEST(CpuNnOps, ResizeLinearHalfPixel) {
  // 1x4 -> 1x8, half_pixel: out j samples (j + 0.5) / 2 - 0.5, clamped to [0, 3].
  auto r = run_op({"Resize", {tensor<float>({1, 1, 1, 4}, {0, 10, 20, 30}), std::nullopt,
                              tensor<float>({4}, {1, 1, 1, 2})},
                   1, {{"mode", std::string("linear")}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{0, 2.5f, 7.5f, 12.5f, 17.5f, 22.5f, 27.5f, 30}));
}

TEST(CpuNnOps, SoftmaxOverMiddleAxis) {
  auto r = run_op({"Softmax", {tensor<float>({1, 2, 2}, {0, 1, std::log(3.0f), 1})}, 1, {{"axis", int64_t{1}}}});
  ASSERT_TRUE(r.ok());
  const auto v = values_of<float>((*r)[0]);
  EXPECT_NEAR(v[0], 0.25f, 1e-6);
  EXPECT_NEAR(v[2], 0.75f, 1e-6);
  EXPECT_NEAR(v[1], 0.5f, 1e-6);
  EXPECT_NEAR(v[3], 0.5f, 1e-6);
}

TEST(CpuNnOps, DynamicQuantizeLinearRoundsHalfToEven) {
  // min -1, max 1.55 -> scale 0.01, zero point round(100) = 100. x / scale lands on
  // exact .5 ties for 0.005 (0.5 -> 0), 0.015 (1.5 -> 2), -0.025 (-2.5 -> -2).
  auto r = run_op({"DynamicQuantizeLinear", {tensor<float>({6}, {-1.0f, 1.55f, 0.005f, 0.015f, -0.025f, 0.0f})}, 3});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const float scale = (*r)[1].data<float>()[0];
  EXPECT_FLOAT_EQ(scale, (1.55f + 1.0f) / 255.0f);
  EXPECT_EQ((*r)[2].data<uint8_t>()[0], 100);
  const auto q = values_of<uint8_t>((*r)[0]);
  for (int i = 0; i < 6; ++i) {
    const float x = std::vector<float>{-1.0f, 1.55f, 0.005f, 0.015f, -0.025f, 0.0f}[i];
    EXPECT_EQ(q[i], static_cast<uint8_t>(std::clamp(std::nearbyint(x / scale) + 100.0f, 0.0f, 255.0f))) << i;
  }
  // Exact ties with a power-of-two scale: x in [0, 255/64] -> scale 1/64 exactly, zp 0.
  auto t = run_op({"DynamicQuantizeLinear", {tensor<float>({4}, {255.0f / 64, 0.5f / 64, 1.5f / 64, 2.5f / 64})}, 3});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(values_of<uint8_t>((*t)[0]), (std::vector<uint8_t>{255, 0, 2, 2}));
  EXPECT_EQ((*t)[2].data<uint8_t>()[0], 0);
}

TEST(CpuNnOps, ConvIntegerWithZeroPoints) {
  // x uint8 2x2, zero point 10; w int8 1x1x2x2 with zero point -1; 1 output pixel.
  auto r = run_op({"ConvInteger", {tensor<uint8_t>({1, 1, 2, 2}, {10, 20, 255, 0}), tensor<int8_t>({1, 1, 2, 2}, {1, -2, 3, 127}),
                                   tensor<uint8_t>({}, {10}), tensor<int8_t>({}, {-1})}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  // (0)(2) + (10)(-1) + (245)(4) + (-10)(128) = -10 + 980 - 1280 = -310
  EXPECT_EQ((*r)[0].dtype(), ir::DType::kInt32);
  EXPECT_EQ(values_of<int32_t>((*r)[0]), (std::vector<int32_t>{-310}));
  // With padding, padded taps contribute zero (they equal the zero point).
  auto p = run_op({"ConvInteger", {tensor<uint8_t>({1, 1, 1, 1}, {12}), tensor<uint8_t>({1, 1, 1, 3}, {1, 1, 1}),
                                   tensor<uint8_t>({}, {10})},
                   1, {{"pads", std::vector<int64_t>{0, 1, 0, 1}}}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(values_of<int32_t>((*p)[0]), (std::vector<int32_t>{2}));
}

TEST(CpuNnOps, QuantizeDequantizePerAxis) {
  auto x = tensor<float>({2, 2}, {0.5f, 1.5f, -3.0f, 100.0f});
  auto q = run_op({"QuantizeLinear", {x, tensor<float>({2}, {1.0f, 2.0f}), tensor<int8_t>({2}, {0, 1})}, 1,
                   {{"axis", int64_t{0}}}});
  ASSERT_TRUE(q.ok()) << q.status().message();
  // row 0: round(0.5)=0, round(1.5)=2; row 1: round(-1.5)+1=-1, round(50)+1=51.
  EXPECT_EQ(values_of<int8_t>((*q)[0]), (std::vector<int8_t>{0, 2, -1, 51}));
  auto sat = run_op({"QuantizeLinear", {tensor<float>({2}, {-5.0f, 300.0f}), tensor<float>({}, {1.0f})}});
  ASSERT_TRUE(sat.ok());
  EXPECT_EQ(values_of<uint8_t>((*sat)[0]), (std::vector<uint8_t>{0, 255}));
  auto d = run_op({"DequantizeLinear", {(*q)[0], tensor<float>({2}, {1.0f, 2.0f}), tensor<int8_t>({2}, {0, 1})}, 1,
                   {{"axis", int64_t{0}}}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(values_of<float>((*d)[0]), (std::vector<float>{0, 2, -4, 100}));
}

TEST(CpuNnOps, GemmAndBatchedMatMul) {
  // Gemm transB with C broadcast over rows.
  auto g = run_op({"Gemm", {tensor<float>({1, 2}, {1, 2}), tensor<float>({2, 2}, {1, 0, 0, 1}), tensor<float>({2}, {10, 20})}, 1,
                   {{"transB", int64_t{1}}, {"alpha", 2.0f}, {"beta", 0.5f}}});
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(values_of<float>((*g)[0]), (std::vector<float>{7, 14}));
  // [2,1,2,2] x [3,2,1] -> [2,3,2,1]
  auto m = run_op({"MatMul", {tensor<float>({2, 1, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2}), tensor<float>({3, 2, 1}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ((*m)[0].shape(), (std::vector<int64_t>{2, 3, 2, 1}));
  EXPECT_EQ(values_of<float>((*m)[0]), (std::vector<float>{1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12}));
}

TEST(CpuNnOps, SigmoidAndSiluAreAccurate) {
  std::vector<float> xs;
  for (float x = -20.0f; x <= 20.0f; x += 0.37f) xs.push_back(x);
  const int64_t n = static_cast<int64_t>(xs.size());
  auto s = run_op({"Sigmoid", {tensor<float>({n}, xs)}});
  auto si = run_op({"SiLU", {tensor<float>({n}, xs)}});
  ASSERT_TRUE(s.ok() && si.ok());
  for (int64_t i = 0; i < n; ++i) {
    const double ref = 1.0 / (1.0 + std::exp(-static_cast<double>(xs[i])));
    EXPECT_NEAR((*s)[0].data<float>()[i], ref, 1e-6) << xs[i];
    EXPECT_NEAR((*si)[0].data<float>()[i], xs[i] * ref, 2e-6 * std::max(1.0f, std::fabs(xs[i]))) << xs[i];
  }
}

}  // namespace
}  // namespace kiln::cpu::test
