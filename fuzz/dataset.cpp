// Dataset parsing: the bytes up to the first NUL are a data yaml (eval::parse_dataset), the
// rest one label file read with its spec (eval::parse_labels), both from memory (what
// load_dataset / load_labels run on the files' text). The scratch folder holds images/a.jpg
// so `val: images` resolves; a yaml naming '/' or ".." is skipped, since a split entry
// outside the folder would walk the machine's file tree (which is what it should do).
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "eval/dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path root = [] {
    const fs::path r = kiln::fuzz::scratch_dir() / "ds";
    fs::create_directories(r / "images");
    kiln::fuzz::write_bytes(r / "images" / "a.jpg", nullptr, 0);
    return r;
  }();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const size_t nul = std::min(bytes.find('\0'), bytes.size());
  const std::string_view yaml = bytes.substr(0, nul), labels = bytes.substr(std::min(nul + 1, bytes.size()));
  if (yaml.find('/') != yaml.npos || yaml.find("..") != yaml.npos) return 0;
  auto spec = kiln::eval::parse_dataset(yaml, root / "data.yaml");
  if (spec.ok()) (void)kiln::eval::parse_labels(labels, root / "labels" / "a.txt", *spec);
  return 0;
}
