// The embed stage's arithmetic by hand: BGR pixels -> RGB planes normalized with ImageNet's
// mean and std, and L2 normalization of the model's vectors.
#include <gtest/gtest.h>

#include "pipeline/stage.h"

namespace kiln::pipeline {
namespace {

TEST(EmbedInput, RgbPlanesWithImagenetMeanAndStd) {
  vision::Image img(2, 1);
  const uint8_t pixels[6] = {0, 128, 255, 255, 0, 51};  // BGR, BGR
  std::copy(pixels, pixels + 6, img.pixels.begin());
  float nchw[6];
  embed_input(img, nchw);
  // Plane order R, G, B; pixel 0 is R 255, G 128, B 0; pixel 1 is R 51, G 0, B 255.
  EXPECT_FLOAT_EQ(nchw[0], (1.f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(nchw[1], (0.2f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(nchw[2], (128 / 255.f - 0.456f) / 0.224f);
  EXPECT_FLOAT_EQ(nchw[3], (0.f - 0.456f) / 0.224f);
  EXPECT_FLOAT_EQ(nchw[4], (0.f - 0.406f) / 0.225f);
  EXPECT_FLOAT_EQ(nchw[5], (1.f - 0.406f) / 0.225f);
}

TEST(L2Normalize, UnitLengthAndZeroStaysZero) {
  std::vector<float> v = {3, 4};
  l2_normalize(v);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> zero = {0, 0, 0};
  l2_normalize(zero);
  EXPECT_EQ(zero, (std::vector<float>{0, 0, 0}));
}

}  // namespace
}  // namespace kiln::pipeline
