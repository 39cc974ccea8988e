#include "ir/slice_axis.h"

#include <gtest/gtest.h>

#include <limits>

#include "ir/dtype.h"

namespace kiln::ir {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

void expect_range(SliceAxis got, int64_t start, int64_t count) {
  EXPECT_EQ(got.count, count);
  if (count > 0) {
    EXPECT_EQ(got.start, start);
  }
}

TEST(SliceAxis, ForwardWithClampingAndNegatives) {
  expect_range(resolve_slice_axis(10, 2, 7, 1), 2, 5);
  expect_range(resolve_slice_axis(10, 2, 7, 2), 2, 3);        // 2, 4, 6
  expect_range(resolve_slice_axis(10, -3, kMax, 1), 7, 3);    // last three
  expect_range(resolve_slice_axis(10, 0, -1, 1), 0, 9);       // all but the last
  expect_range(resolve_slice_axis(10, 12, 20, 1), 0, 0);      // past the end: empty
  expect_range(resolve_slice_axis(10, kMin, 3, 1), 0, 3);     // huge negative start clamps
}

TEST(SliceAxis, BackwardSteps) {
  expect_range(resolve_slice_axis(10, kMax, kMin, -1), 9, 10);  // full reverse
  expect_range(resolve_slice_axis(10, -1, -4, -1), 9, 3);       // 9, 8, 7
  expect_range(resolve_slice_axis(10, 8, 1, -3), 8, 3);         // 8, 5, 2
  expect_range(resolve_slice_axis(10, 2, 5, -1), 0, 0);         // wrong direction: empty
}

TEST(DType, FromOnnxCodes) {
  EXPECT_EQ(dtype_from_onnx(1), DType::kFloat32);
  EXPECT_EQ(dtype_from_onnx(7), DType::kInt64);
  EXPECT_EQ(dtype_from_onnx(10), DType::kFloat16);
  EXPECT_FALSE(dtype_from_onnx(11).has_value());  // double: unsupported
}

}  // namespace
}  // namespace kiln::ir
