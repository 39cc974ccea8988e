// The weight store's derived forms (weight_store.h): a source and form converted once, found
// again by the source's bytes by later engines, and what lands on the device is what the
// conversion made.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "backends/cuda/weight_store.h"
#include "cuda_test_util.h"

namespace kiln::cuda::test {
namespace {

std::vector<uint8_t> device_bytes(const void* device, size_t n) {
  std::vector<uint8_t> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), device, n, cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

TEST(WeightStoreGpu, DerivedFormsAreConvertedOncePerSourceAndForm) {
  KILN_REQUIRE_GPU();
  WeightStore store;
  const std::vector<uint8_t> source = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> same_source = source;  // other memory, equal bytes: another engine's copy
  const std::vector<uint8_t> other_source = {1, 2, 3, 4, 5, 6, 7, 9};
  int made = 0;
  auto reversed = [&](const std::vector<uint8_t>& s) {
    return [&made, s] {
      ++made;
      return std::vector<uint8_t>(s.rbegin(), s.rend());
    };
  };

  auto first = store.upload_derived(source.data(), source.size(), "reversed", reversed(source), "w");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(made, 1);
  EXPECT_EQ(device_bytes(*first, 8), (std::vector<uint8_t>{8, 7, 6, 5, 4, 3, 2, 1}));

  // The same bytes elsewhere and the same form: found, not converted again.
  auto again = store.upload_derived(same_source.data(), same_source.size(), "reversed", reversed(same_source), "w");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(made, 1);
  EXPECT_EQ(*again, *first);

  // Another form of the same source, and the same form of another source: converted.
  auto other_form = store.upload_derived(source.data(), source.size(), "copied", [&] {
    ++made;
    return source;
  }, "w");
  ASSERT_TRUE(other_form.ok());
  EXPECT_EQ(made, 2);
  EXPECT_NE(*other_form, *first);
  EXPECT_EQ(device_bytes(*other_form, 8), source);
  auto other = store.upload_derived(other_source.data(), other_source.size(), "reversed", reversed(other_source), "w");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(made, 3);
  EXPECT_EQ(device_bytes(*other, 8), (std::vector<uint8_t>{9, 7, 6, 5, 4, 3, 2, 1}));

  // A form whose bytes equal an existing upload shares its device copy.
  auto shared = store.upload_derived(other_source.data(), other_source.size(), "the first", [&] {
    ++made;
    return std::vector<uint8_t>{8, 7, 6, 5, 4, 3, 2, 1};
  }, "w");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(made, 4);
  EXPECT_EQ(*shared, *first);
  EXPECT_EQ(store.bytes(), 3u * 8u);
}

}  // namespace
}  // namespace kiln::cuda::test
