// NumPy .npy arrays: float16 values (normal, subnormal, infinite) read through the one
// binary16 conversion (core/half.h), and float32 arrays round-trip.
#include "core/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace kiln {
namespace {

// A version 1.0 .npy of little-endian uint16 words with dtype `descr`.
std::vector<uint8_t> npy_bytes(const std::string& descr, const std::vector<uint16_t>& words) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(words.size()) + ",), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  const std::string head = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xff) +
                           static_cast<char>(header.size() >> 8) + header;
  std::vector<uint8_t> out(head.begin(), head.end());
  for (uint16_t w : words) {
    out.push_back(static_cast<uint8_t>(w & 0xff));
    out.push_back(static_cast<uint8_t>(w >> 8));
  }
  return out;
}

TEST(Npy, ReadsFloat16IncludingSubnormalsAndInfinity) {
  auto a = parse_npy(npy_bytes("<f2", {0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff, 0x7c00, 0xfbff}), "h.npy");
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_EQ(a->shape, std::vector<int64_t>{7});
  EXPECT_EQ(a->data[0], 1.0f);
  EXPECT_EQ(a->data[1], -2.0f);
  EXPECT_EQ(a->data[2], 0.333251953125f);
  EXPECT_EQ(a->data[3], 5.960464477539063e-08f);  // 2^-24, the smallest subnormal
  EXPECT_EQ(a->data[4], 6.097555160522461e-05f);  // 1023 * 2^-24, the largest subnormal
  EXPECT_TRUE(std::isinf(a->data[5]) && a->data[5] > 0);
  EXPECT_EQ(a->data[6], -65504.0f);
}

TEST(Npy, Float32RoundTrips) {
  NpyArray in{{2, 2}, {0.5f, -1.25f, 3e-40f, 1e30f}};
  auto out = parse_npy(serialize_npy(in), "f.npy");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->shape, in.shape);
  EXPECT_EQ(out->data, in.data);
}

}  // namespace
}  // namespace kiln
