#include "support/test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace kiln::test {

namespace fs = std::filesystem;

fs::path assets_dir() {
  if (const char* env = std::getenv("KILN_ASSETS_DIR")) return env;
  return fs::path(KILN_TEST_DEFAULT_ASSETS);
}

fs::path asset(const std::string& relative) { return assets_dir() / relative; }

fs::path source_dir() {
  if (const char* env = std::getenv("KILN_SOURCE_DIR")) return env;
  return fs::path(KILN_TEST_DEFAULT_SOURCE);
}

fs::path binary_dir() {
  if (const char* env = std::getenv("KILN_BINARY_DIR")) return env;
  return fs::path(KILN_TEST_DEFAULT_BINARY);
}

fs::path temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "kiln";
  std::replace(name.begin(), name.end(), '/', '_');
  fs::path dir = fs::temp_directory_path() / ("kiln-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Diff compare(const ir::Tensor& got, const ir::Tensor& ref) {
  EXPECT_EQ(got.shape(), ref.shape());
  ir::Tensor a = got.to_float32(), b = ref.to_float32();
  Diff d;
  if (a.numel() != b.numel() || b.numel() == 0) return d;
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  auto [mn, mx] = std::minmax_element(pb, pb + b.numel());
  d.range = static_cast<double>(*mx) - *mn;
  for (int64_t i = 0; i < b.numel(); ++i) {
    double e = std::fabs(static_cast<double>(pa[i]) - pb[i]);
    if (std::isnan(e)) e = INFINITY;
    d.max_abs = std::max(d.max_abs, e);
  }
  return d;
}

}  // namespace kiln::test
