// Helpers shared by kiln's tests: where the assets are, tensor comparison, raw I/O.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ir/tensor.h"

namespace kiln::test {

// ../shared/assets (KILN_ASSETS_DIR); tests skip when it is missing.
std::filesystem::path assets_dir();
std::filesystem::path asset(const std::string& relative);
// The source tree (KILN_SOURCE_DIR) and build tree (KILN_BINARY_DIR), for reference scripts
// in tests/tools and cached reference outputs.
std::filesystem::path source_dir();
std::filesystem::path binary_dir();
// A scratch directory unique to the running test, created empty.
std::filesystem::path temp_dir();

struct Diff {
  double max_abs = 0;  // max |a - b|
  double range = 0;    // max(b) - min(b) of the reference
};
// Compares two float tensors of the same shape (`ref` is the reference).
Diff compare(const ir::Tensor& got, const ir::Tensor& ref);

}  // namespace kiln::test

#define KILN_REQUIRE_ASSETS()                                                   \
  do {                                                                          \
    if (!std::filesystem::exists(::kiln::test::assets_dir()))                   \
      GTEST_SKIP() << "assets not found at " << ::kiln::test::assets_dir();     \
  } while (0)
