#include "kiln/options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <ostream>
#include <sstream>
#include <vector>

namespace kiln {

namespace {
constexpr std::array<std::string_view, 4> kPrecisionNames = {"fp32", "fp16", "tf32", "int8"};
constexpr std::array<std::string_view, 2> kCropFitNames = {"resize", "letterbox"};
}

std::string_view to_string(Precision p) { return kPrecisionNames[static_cast<size_t>(p)]; }

std::ostream& operator<<(std::ostream& os, Precision p) { return os << to_string(p); }

std::span<const std::string_view> precision_names() { return kPrecisionNames; }

Result<Precision> parse_precision(std::string_view text) {
  for (size_t i = 0; i < kPrecisionNames.size(); ++i)
    if (text == kPrecisionNames[i]) return static_cast<Precision>(i);
  std::string allowed;
  for (std::string_view n : kPrecisionNames) allowed += (allowed.empty() ? "" : ", ") + std::string(n);
  return error(StatusCode::kInvalidArgument, "precision '", text, "': expected one of ", allowed);
}

std::string CalibrationMethod::to_string() const {
  switch (kind) {
    case Kind::kMinMax: return "minmax";
    case Kind::kEntropy: return "entropy";
    case Kind::kMse: return "mse";
    case Kind::kPercentile: break;
  }
  std::ostringstream os;
  os << "percentile=" << percentile;
  return os.str();
}

Result<CalibrationMethod> parse_calibration_method(std::string_view text) {
  using Kind = CalibrationMethod::Kind;
  if (text == "minmax") return CalibrationMethod{Kind::kMinMax};
  if (text == "entropy") return CalibrationMethod{Kind::kEntropy};
  if (text == "mse") return CalibrationMethod{Kind::kMse};
  if (text == "percentile") return CalibrationMethod{Kind::kPercentile};
  constexpr std::string_view kPrefix = "percentile=";
  if (text.substr(0, kPrefix.size()) == kPrefix) {
    std::string_view number = text.substr(kPrefix.size());
    double p = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), p);
    if (!number.empty() && ec == std::errc() && end == number.data() + number.size() && p > 0 && p <= 100)
      return CalibrationMethod{Kind::kPercentile, p};
    return error(StatusCode::kInvalidArgument, "calibration method '", text, "': the percentile must be in (0, 100]");
  }
  return error(StatusCode::kInvalidArgument, "calibration method '", text,
               "': expected one of minmax, entropy, percentile, percentile=P, mse");
}

namespace {

// An int8 option's name: kiln.yaml's key, or the flag made from it (calib_images ->
// --calib-images).
std::string int8_option_name(std::string_view key, OptionSpelling spelling) {
  if (spelling == OptionSpelling::kConfigKey) return std::string(key);
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

}  // namespace

Result<Int8Options> parse_int8_options(const Int8Arguments& a, bool int8, OptionSpelling spelling) {
  const char* given = !a.calib.empty() ? "calib"
                      : a.calib_images ? "calib_images"
                      : !a.method.empty() ? "calib_method"
                      : !a.exclude.empty() ? "int8_exclude"
                      : a.target_drop ? "int8_target_drop"
                                      : nullptr;
  auto name = [spelling](std::string_view key) { return int8_option_name(key, spelling); };
  if (given && !int8)
    return error(StatusCode::kInvalidArgument, name(given), " applies to ",
                 spelling == OptionSpelling::kFlag ? "--precision int8" : "precision: int8", " only");
  Int8Options o;
  o.calib = a.calib;
  if (a.calib_images && *a.calib_images < 1)
    return error(StatusCode::kInvalidArgument, name("calib_images"), " ", *a.calib_images, ": expected at least 1");
  o.calib_images = a.calib_images.value_or(o.calib_images);
  if (!a.method.empty()) {
    auto m = parse_calibration_method(a.method);
    if (!m.ok()) return error(m.status().code(), name("calib_method"), ": ", m.status().message());
    o.method = *m;
  }
  o.exclude = a.exclude;
  if (a.target_drop && !(*a.target_drop >= 0 && *a.target_drop <= 1))
    return error(StatusCode::kInvalidArgument, name("int8_target_drop"), " ", *a.target_drop,
                 ": expected a mAP drop in [0, 1]");
  o.target_drop = a.target_drop;
  return o;
}

std::string_view to_string(CropFit fit) { return kCropFitNames[static_cast<size_t>(fit)]; }

Result<CropFit> parse_crop_fit(std::string_view text) {
  for (size_t i = 0; i < kCropFitNames.size(); ++i)
    if (text == kCropFitNames[i]) return static_cast<CropFit>(i);
  return error(StatusCode::kInvalidArgument, "crop '", text, "': expected resize or letterbox");
}

std::string Device::to_string() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

Result<Device> parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  constexpr std::string_view kPrefix = "cuda:";
  if (text.substr(0, kPrefix.size()) == kPrefix) {
    std::string_view digits = text.substr(kPrefix.size());
    int index = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size() && index >= 0)
      return Device::cuda(index);
  }
  return error(StatusCode::kInvalidArgument, "device '", text, "': expected cpu, cuda or cuda:N");
}

std::string BatchProfile::to_string() const {
  return std::to_string(min) + ":" + std::to_string(opt) + ":" + std::to_string(max);
}

Result<BatchProfile> parse_batch_profile(std::string_view text) {
  std::vector<int64_t> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(':', start);
    std::string_view part = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size() || v < 1)
      return error(StatusCode::kInvalidArgument, "batch '", text, "': expected N or MIN:OPT:MAX (positive integers)");
    parts.push_back(v);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (parts.size() == 1) return BatchProfile(parts[0]);
  if (parts.size() != 3 || parts[0] > parts[1] || parts[1] > parts[2])
    return error(StatusCode::kInvalidArgument, "batch '", text, "': expected N or MIN:OPT:MAX with MIN <= OPT <= MAX");
  return BatchProfile(parts[0], parts[1], parts[2]);
}

}  // namespace kiln
