// Dataset parsing: the bytes up to the first NUL are a data yaml (eval::load_dataset), the
// rest one label file read with its spec (eval::load_labels). The scratch folder holds
// images/a.jpg so `val: images` resolves; a yaml naming '/' or ".." is skipped, since a split
// entry outside the folder would walk the machine's file tree (which is what it should do).
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "eval/dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  const fs::path root = kiln::fuzz::scratch_dir() / "ds";
  static const bool made = [&] {
    fs::create_directories(root / "images");
    fs::create_directories(root / "labels");
    kiln::fuzz::write_bytes(root / "images" / "a.jpg", nullptr, 0);
    return true;
  }();
  (void)made;
  const uint8_t* nul = std::find(data, data + size, uint8_t{0});
  const std::string_view yaml(reinterpret_cast<const char*>(data), static_cast<size_t>(nul - data));
  if (yaml.find('/') != yaml.npos || yaml.find("..") != yaml.npos) return 0;
  kiln::fuzz::write_bytes(root / "data.yaml", data, static_cast<size_t>(nul - data));
  kiln::fuzz::write_bytes(root / "labels" / "a.txt", nul == data + size ? nul : nul + 1,
                          nul == data + size ? 0 : static_cast<size_t>(data + size - nul - 1));
  auto spec = kiln::eval::load_dataset(root / "data.yaml");
  if (spec.ok()) (void)kiln::eval::load_labels(root / "images" / "a.jpg", *spec);
  return 0;
}
