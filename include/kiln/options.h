// The typed options every entry point shares (CLI, kiln.yaml, C++ API): precision and
// device. Text is parsed once, at the edge, against the one list of allowed values below;
// everything after that passes the enums.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"

namespace kiln {

// kFp32 is strict FP32; kTf32 keeps FP32 tensors but lets convolutions use TF32 tensor
// cores (PyTorch's default); kFp16 stores activations and weights in FP16 and accumulates
// in FP32; kInt8 runs the quantizable layers (convolutions) on INT8 activations and weights
// with INT32 accumulation, the rest in float (Int8Options; FP16 on CUDA, FP32 on the CPU).
// The CPU backend runs kFp32 and kInt8; CUDA runs all four.
enum class Precision { kFp32, kFp16, kTf32, kInt8 };

// "fp32", "fp16", "tf32", "int8".
std::string_view to_string(Precision p);
// The allowed spellings, in the order above.
std::span<const std::string_view> precision_names();
// InvalidArgument naming the text and the allowed values.
Result<Precision> parse_precision(std::string_view text);
std::ostream& operator<<(std::ostream& os, Precision p);

// How calibration turns an activation's observed values into its INT8 range amax:
// kMinMax the largest |x| seen; kEntropy TensorRT's KL-divergence choice over a 2048-bin
// histogram of |x|; kPercentile the `percentile`-th percentile of |x|; kMse the amax with
// the smallest quantization mean squared error over that histogram. kMse is the default:
// calibrated on images outside the val set, it kept mAP50-95 closest to FP32 on average over
// yolo11n and yolov8n (bench/results/2026-12-05-cpu-int8-methods.md).
struct CalibrationMethod {
  enum class Kind { kMinMax, kEntropy, kPercentile, kMse } kind = Kind::kMse;
  double percentile = 99.99;  // kPercentile only, in (0, 100]
  std::string to_string() const;  // "minmax", "entropy", "percentile=99.99", "mse"
  bool operator==(const CalibrationMethod&) const = default;
};
// "minmax", "entropy", "percentile", "percentile=P" (0 < P <= 100), "mse"; InvalidArgument
// naming the text and the allowed values otherwise.
Result<CalibrationMethod> parse_calibration_method(std::string_view text);

// What an INT8 build needs beyond the precision: post-training calibration data (a folder
// of images, a glob, or an Ultralytics dataset YAML: its train split, else val), how many
// of its images (sorted, the first N), the method, layers to keep float, and the accuracy
// a sensitivity analysis must hold. A model that carries Q/DQ nodes needs no calibration.
struct Int8Options {
  std::string calib;                  // empty: none (a QDQ model)
  int64_t calib_images = 512;
  CalibrationMethod method;
  std::vector<std::string> exclude;   // fnmatch(3) patterns on node names, kept float
  // Set: keep float the fewest most sensitive layers so that mAP50-95 on held-back
  // calibration images drops by at most this much against FP32.
  std::optional<double> target_drop;
  bool operator==(const Int8Options&) const = default;
};

// The int8 options as an edge receives them, each unset (empty) when not given: the CLI's
// --calib, --calib-images, --calib-method, --int8-exclude and --int8-target-drop, the
// Python package's keyword arguments of the same names.
struct Int8Arguments {
  std::string calib;
  std::optional<int64_t> calib_images;  // unset: Int8Options' default
  std::string method;
  std::vector<std::string> exclude;
  std::optional<double> target_drop;
};
// How an edge names those options in messages: the CLI's flags (--calib-images, which the
// Python package's messages use too) or kiln.yaml's keys (calib_images).
enum class OptionSpelling { kFlag, kConfigKey };
// Int8Options from them. InvalidArgument naming the option as `spelling` does for a bad
// method, image count or drop, or for any option given when no int8 run is asked for
// (`int8` false).
Result<Int8Options> parse_int8_options(const Int8Arguments& args, bool int8,
                                       OptionSpelling spelling = OptionSpelling::kFlag);

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
