#include "option_flags.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace kiln::cli {

Result<std::optional<Device>> device_flag(const std::string& text) {
  if (text.empty()) return std::optional<Device>();
  auto d = parse_device(text);
  if (!d.ok()) return error(d.status().code(), "--device: ", d.status().message());
  return std::optional<Device>(*d);
}

Status check_strict_gpu(bool strict_gpu, const std::optional<Device>& device) {
  if (strict_gpu && device && !device->is_cuda())
    return error(StatusCode::kInvalidArgument, "--strict-gpu refuses CPU fallbacks, but --device cpu asks for the CPU "
                                               "(give --device cuda or cuda:N, or drop --strict-gpu)");
  return Status::Ok();
}

Result<std::optional<Precision>> precision_flag(const std::string& text) {
  if (text.empty()) return std::optional<Precision>();
  auto p = parse_precision(text);
  if (!p.ok()) return error(p.status().code(), "--precision: ", p.status().message());
  return std::optional<Precision>(*p);
}

Result<std::vector<Precision>> precisions_flag(const std::vector<std::string>& names) {
  std::vector<Precision> out;
  for (const std::string& name : names) {
    KILN_ASSIGN_OR_RETURN(std::optional<Precision> p, precision_flag(name));
    if (!p) return error(StatusCode::kInvalidArgument, "--precision: empty entry");
    if (std::find(out.begin(), out.end(), *p) != out.end())
      return error(StatusCode::kInvalidArgument, "--precision: ", name, " given twice");
    out.push_back(*p);
  }
  return out;
}

void add_int8_flags(CLI::App& cmd, Int8Arguments& f) {
  cmd.add_option("--calib", f.calib,
                 "int8: calibration images, a folder, a glob or a dataset YAML (its train split, else val)");
  cmd.add_option("--calib-images", f.calib_images,
                 "int8: calibration images to use, the first N sorted (default " +
                     std::to_string(Int8Options{}.calib_images) + ")");
  cmd.add_option("--calib-method", f.method,
                 "int8: minmax | entropy | percentile[=P] | mse (default " + CalibrationMethod{}.to_string() + ")");
  cmd.add_option("--int8-exclude", f.exclude, "int8: keep float the layers whose node name matches (fnmatch; repeatable)");
  cmd.add_option("--int8-target-drop", f.target_drop,
                 "int8: keep float the fewest sensitive layers so that mAP50-95 on held-back calibration images drops "
                 "by at most this much");
}

void add_live_flags(CLI::App& cmd, video::LiveOptions& live) {
  cmd.add_option("--reconnect", live.reconnect_attempts,
                 "URLs and cameras: attempts to reopen a stream that drops (waits 0.5, 1, 2, 4, 4 ... s); 0: none")
      ->check(number_in(0, 1000))
      ->capture_default_str();
  cmd.add_option("--timeout", live.stream.timeout_s,
                 "URLs and cameras: seconds without data (connecting or reading) before it is an error")
      ->check(number_in(0.1, 3600.0))
      ->capture_default_str();
}

CLI::Validator number_in(double lo, double hi) {
  auto text = [](double v) {
    std::ostringstream s;
    s.precision(12);  // 1000000, not 1e+06
    s << v;
    return s.str();
  };
  const std::string range = text(lo) + " to " + text(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& given) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(given.c_str(), &end);
        if (given.empty() || *end != '\0' || !(v >= lo && v <= hi))
          return "expected a number from " + range + ", got '" + given + "'";
        return std::string();
      },
      "NUMBER in " + range);
}

}  // namespace kiln::cli
