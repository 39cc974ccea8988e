// Kernels whose output shape comes from tensor values (ConstantOfShape, Expand, Range,
// Resize) refuse shapes beyond ir's size limits instead of overflowing the element count,
// and an allocation that fails is an error, not an exception escaping the library.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cmath>
#include <limits>

#include "run_op.h"

namespace kiln::cpu::test {
namespace {

void expect_refused(const Result<std::vector<ir::Tensor>>& r, const std::string& mention) {
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(mention), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("node0"), std::string::npos) << r.status().message();
}

TEST(CpuOutputSizes, ShapesFromValuesBeyondTheLimitsAreRefused) {
  const int64_t big = int64_t{1} << 62;
  expect_refused(run_op({"ConstantOfShape", {tensor<int64_t>({2}, {3, big})}}), "beyond kiln's limits");
  expect_refused(run_op({"ConstantOfShape", {tensor<int64_t>({1}, {-4})}}), "beyond kiln's limits");
  expect_refused(run_op({"Expand", {tensor<float>({1}, {1.f}), tensor<int64_t>({2}, {int64_t{1} << 40, int64_t{1} << 40})}}),
                 "beyond kiln's limits");
  expect_refused(run_op({"Range", {tensor<float>({}, {0.f}), tensor<float>({}, {1e30f}), tensor<float>({}, {1.f})}}),
                 "beyond kiln's limits");
  const float inf = std::numeric_limits<float>::infinity();
  for (float scale : {inf, std::nanf(""), 1e30f, -1.f}) {
    auto r = run_op({"Resize", {tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4}), std::nullopt,
                                tensor<float>({4}, {1, 1, scale, 1})}, 1, {{"mode", std::string("nearest")}}});
    expect_refused(r, "scale");
  }
  auto sized = run_op({"Resize", {tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4}), std::nullopt, std::nullopt,
                                  tensor<int64_t>({4}, {1, 1, -3, 2})}, 1, {{"mode", std::string("nearest")}}});
  expect_refused(sized, "beyond kiln's limits");
}

// An 8 GB output under a 1 GB address-space limit: std::bad_alloc becomes a Status.
TEST(CpuOutputSizes, FailedAllocationIsAnError) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer reserves more address space than any limit this test could set";
#else
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &old), 0);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  // The current virtual size plus 1 GB (OpenBLAS and OpenMP threads reserve stacks already).
  long vm_kb = 0;
  {
    FILE* f = std::fopen("/proc/self/statm", "r");
    long pages = 0;
    if (f && std::fscanf(f, "%ld", &pages) == 1) vm_kb = pages * (sysconf(_SC_PAGESIZE) / 1024);
    if (f) std::fclose(f);
  }
  ASSERT_GT(vm_kb, 0);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(vm_kb + (1 << 20)) * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_AS, &tight), 0);
  auto r = run_op({"ConstantOfShape", {tensor<int64_t>({1}, {int64_t{1} << 31})}});
  ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);
  expect_refused(r, "out of memory");
#endif
}

}  // namespace
}  // namespace kiln::cpu::test
