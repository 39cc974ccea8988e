// The typed options every entry point shares (CLI, kiln.yaml, C++ API): precision and
// device. Text is parsed once, at the edge, against the one list of allowed values below;
// everything after that passes the enums.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "kiln/status.h"

namespace kiln {

// kFp32 is strict FP32; kTf32 keeps FP32 tensors but lets convolutions use TF32 tensor
// cores (PyTorch's default); kFp16 stores activations and weights in FP16 and accumulates
// in FP32. The CPU backend runs kFp32 only.
enum class Precision { kFp32, kFp16, kTf32 };

// "fp32", "fp16", "tf32".
std::string_view to_string(Precision p);
// The allowed spellings, in the order above.
std::span<const std::string_view> precision_names();
// InvalidArgument naming the text and the allowed values.
Result<Precision> parse_precision(std::string_view text);
std::ostream& operator<<(std::ostream& os, Precision p);

struct Device {
  enum class Kind { kCpu, kCuda } kind = Kind::kCpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {Kind::kCuda, index}; }
  bool is_cuda() const { return kind == Kind::kCuda; }
  std::string to_string() const;  // "cpu", "cuda:0"
  bool operator==(const Device&) const = default;
};
// "cpu", "cuda", "cuda:N" (N >= 0); InvalidArgument otherwise.
Result<Device> parse_device(std::string_view text);

// The batch sizes an engine serves: MIN:OPT:MAX. An engine is planned for MIN, the powers
// of two between MIN and MAX, OPT and MAX; n images run at the smallest of those >= n.
// A plain N is N:N:N.
struct BatchProfile {
  int64_t min = 1, opt = 1, max = 1;
  BatchProfile(int64_t n = 1) : min(n), opt(n), max(n) {}  // NOLINT: a batch size is a profile
  BatchProfile(int64_t min_, int64_t opt_, int64_t max_) : min(min_), opt(opt_), max(max_) {}
  bool fixed() const { return min == max; }
  std::string to_string() const;  // "1:4:8"
  bool operator==(const BatchProfile&) const = default;
};
// "N" or "MIN:OPT:MAX" with 1 <= MIN <= OPT <= MAX; InvalidArgument otherwise.
Result<BatchProfile> parse_batch_profile(std::string_view text);

// How a pipeline stage fits an object's crop into its model's input: stretched to the
// input size (kResize, aspect ratio lost) or scaled to fit and padded with gray 114 as
// Ultralytics' letterbox (kLetterbox).
enum class CropFit { kResize, kLetterbox };

// "resize", "letterbox".
std::string_view to_string(CropFit fit);
// InvalidArgument naming the text and the allowed values.
Result<CropFit> parse_crop_fit(std::string_view text);

}  // namespace kiln
