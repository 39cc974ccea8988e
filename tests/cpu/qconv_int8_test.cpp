// QConvInt8 (ir/qconv_int8.h) on hand-computed cases: zero points (also in the padding),
// per-channel scales, bias, SiLU, residual, and requantization's ties and saturation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ir/qconv_int8.h"
#include "run_op.h"

namespace kiln::cpu::test {
namespace {

using ir::Tensor;

// QConvInt8 inputs in slot order (nullopt: absent).
std::vector<std::optional<Tensor>> qconv_inputs(Tensor x, float x_scale, int8_t x_zero, Tensor w, Tensor w_scale,
                                                std::optional<Tensor> bias = {}, std::optional<Tensor> residual = {},
                                                std::optional<float> y_scale = {}, int8_t y_zero = 0) {
  std::vector<std::optional<Tensor>> in = {std::move(x), tensor<float>({}, {x_scale}), tensor<int8_t>({}, {x_zero}),
                                           std::move(w), std::move(w_scale), std::move(bias), std::move(residual)};
  if (y_scale) {
    in.push_back(tensor<float>({}, {*y_scale}));
    in.push_back(tensor<int8_t>({}, {y_zero}));
  }
  while (!in.back()) in.pop_back();
  return in;
}

TEST(QConvInt8, ScalesBiasAndZeroPointPerChannel) {
  // x - 2 = [8,-5,2,5]; acc = 3*(x-2) and -2*(x-2); scales 0.5*[0.25, 2] = [0.125, 1].
  auto r = run_op({"QConvInt8", qconv_inputs(tensor<int8_t>({1, 1, 2, 2}, {10, -3, 4, 7}), 0.5f, 2,
                                             tensor<int8_t>({2, 1, 1, 1}, {3, -2}), tensor<float>({2}, {0.25f, 2.0f}),
                                             tensor<float>({2}, {1.0f, -1.0f}))});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].dtype(), ir::DType::kFloat32);
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{4.0f, -0.875f, 1.75f, 2.875f, -17.0f, 9.0f, -5.0f, -11.0f}));
}

TEST(QConvInt8, PaddingEqualsTheZeroPoint) {
  // x - 5 = [0, 2]; taps (pad, 0, 2) and (0, 2, pad) with w = 1, 10, 100.
  auto r = run_op({"QConvInt8",
                   qconv_inputs(tensor<int8_t>({1, 1, 1, 2}, {5, 7}), 1.0f, 5, tensor<int8_t>({1, 1, 1, 3}, {1, 10, 100}),
                                tensor<float>({}, {1.0f})),
                   1,
                   {{"pads", std::vector<int64_t>{0, 1, 0, 1}}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{200.0f, 20.0f}));
}

TEST(QConvInt8, RequantizesHalfToEvenAndSaturates) {
  // Channel 0 (w 1): y = x, y / 2 = 0.5, 1.5, 2.5, -1.5, 50 -> 0, 2, 2, -2, 50, + zero point 1.
  // Channel 1 (w 127): y / 2 = 63.5 -> 64 (+1), the rest beyond int8 -> 127 / -128.
  auto r = run_op({"QConvInt8", qconv_inputs(tensor<int8_t>({1, 1, 1, 5}, {1, 3, 5, -3, 100}), 1.0f, 0,
                                             tensor<int8_t>({2, 1, 1, 1}, {1, 127}), tensor<float>({2}, {1.0f, 1.0f}),
                                             std::nullopt, std::nullopt, 2.0f, 1)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].dtype(), ir::DType::kInt8);
  EXPECT_EQ(values_of<int8_t>((*r)[0]), (std::vector<int8_t>{1, 3, 3, -1, 51, 65, 127, 127, -128, 127}));
}

// The GPU epilogue requantizes by a product with 1 / y_scale, dividing only near a rounding
// tie: every value equals the division's result. Values: the half-integer quotients
// themselves and their float neighbours (where a product and a quotient can round apart),
// and random ones, over scales from 1e-4 to 10 and the zero points' range.
TEST(QConvInt8, RequantizeByReciprocalEqualsTheDivision) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> log_scale(-4.f, 1.f), unit(-1.f, 1.f);
  int64_t checked = 0, near_ties = 0;
  for (int si = 0; si < 400; ++si) {
    const float y_scale = si == 0 ? 1.f / 3.f : std::pow(10.f, log_scale(rng)), inv = 1.f / y_scale;
    for (int32_t zp : {-128, -5, 0, 77, 127}) {
      auto check = [&](float y) {
        const int8_t want = ir::qconv::requantize(y, y_scale, zp);
        const int8_t got = ir::qconv::requantize_by_reciprocal(y, y_scale, inv, zp);
        ASSERT_EQ(got, want) << "y " << y << " y_scale " << y_scale << " zero point " << zp;
        ++checked;
      };
      for (int k = -420; k <= 420; ++k) {
        float y = (static_cast<float>(k) + 0.5f) * y_scale;
        const float q = y * inv;
        near_ties += std::fabs(q - std::nearbyint(q)) > 0.5f - 0x1p-11f;
        for (int step = 0; step < 3; ++step) y = std::nextafter(y, -INFINITY);
        for (int step = 0; step < 7; ++step, y = std::nextafter(y, INFINITY)) check(y);
      }
      for (int i = 0; i < 400; ++i) check(unit(rng) * 2000.f * y_scale);
    }
  }
  EXPECT_GT(checked, 10'000'000);
  EXPECT_GT(near_ties, 1'000'000);  // the division's branch was taken
}

TEST(QConvInt8, SiluThenResidual) {
  // y = acc * 0.5 + bias: [0 - 0, 4 * 0.5 + 0] = [0, 2]; SiLU(2) = 2 / (1 + e^-2); + residual.
  auto r = run_op({"QConvInt8",
                   qconv_inputs(tensor<int8_t>({1, 1, 1, 2}, {0, 4}), 0.5f, 0, tensor<int8_t>({1, 1, 1, 1}, {1}),
                                tensor<float>({}, {1.0f}), tensor<float>({1}, {0.0f}),
                                tensor<float>({1, 1, 1, 2}, {0.25f, -1.0f})),
                   1,
                   {{"activation", std::string("SiLU")}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::vector<float> y = values_of<float>((*r)[0]);
  EXPECT_FLOAT_EQ(y[0], 0.25f);
  EXPECT_NEAR(y[1], 1.7615941559557649 - 1.0, 1e-6);
}

TEST(QConvInt8, GroupedConvMatchesPerGroupSums) {
  // Depthwise 2 channels, 1x2 kernels: [1*3 + 2*4, 10*5 + -1*6] with x_zero_point 0.
  auto r = run_op({"QConvInt8",
                   qconv_inputs(tensor<int8_t>({1, 2, 1, 2}, {3, 4, 5, 6}), 1.0f, 0,
                                tensor<int8_t>({2, 1, 1, 2}, {1, 2, 10, -1}), tensor<float>({}, {1.0f})),
                   1,
                   {{"group", int64_t{2}}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(values_of<float>((*r)[0]), (std::vector<float>{11.0f, 44.0f}));
}

TEST(QConvInt8, BadInputsAreErrors) {
  auto x = tensor<int8_t>({1, 1, 1, 2}, {1, 2});
  auto w = tensor<int8_t>({1, 1, 1, 1}, {1});
  auto bad_act = run_op({"QConvInt8", qconv_inputs(x, 1.0f, 0, w, tensor<float>({}, {1.0f})), 1,
                         {{"activation", std::string("Relu")}}});
  ASSERT_FALSE(bad_act.ok());
  EXPECT_NE(bad_act.status().message().find("activation 'Relu'"), std::string::npos) << bad_act.status().message();
  auto bad_residual = run_op({"QConvInt8", qconv_inputs(x, 1.0f, 0, w, tensor<float>({}, {1.0f}), std::nullopt,
                                                        tensor<float>({1, 1, 2, 1}, {0, 0}))});
  ASSERT_FALSE(bad_residual.ok());
  EXPECT_NE(bad_residual.status().message().find("residual"), std::string::npos) << bad_residual.status().message();
  auto bad_scales = run_op({"QConvInt8", qconv_inputs(x, 1.0f, 0, w, tensor<float>({2}, {1.0f, 1.0f}))});
  ASSERT_FALSE(bad_scales.ok());
  EXPECT_NE(bad_scales.status().message().find("w_scale"), std::string::npos) << bad_scales.status().message();
}

}  // namespace
}  // namespace kiln::cpu::test
