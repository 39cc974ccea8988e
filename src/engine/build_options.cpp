#include "engine/build_options.h"

#include <algorithm>

namespace kiln::engine {

std::vector<int64_t> prepared_batches(const BatchProfile& p) {
  std::vector<int64_t> out{p.min};
  for (int64_t b = 1; b < p.max; b *= 2) {
    if (b > p.min) out.push_back(b);
    if (b >= 2 && b * 3 / 2 > p.min && b * 3 / 2 < p.max) out.push_back(b * 3 / 2);
  }
  out.push_back(p.opt);
  out.push_back(p.max);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status check_precision_for_device(const BuildOptions& options) {
  const bool int8 = options.precision == Precision::kInt8;
  if (!options.device.is_cuda() && options.precision != Precision::kFp32 && !int8)
    return error(StatusCode::kInvalidArgument, "precision ", options.precision,
                 " needs a CUDA device (--device cuda:N); the CPU backend runs fp32 and int8");
  return Status::Ok();
}

Status check_input_size(int64_t imgsz, int64_t batch) {
  if (imgsz < 0 || imgsz > kMaxImgsz)
    return error(StatusCode::kInvalidArgument, "imgsz ", imgsz, " out of range (1 to ", kMaxImgsz, ")");
  if (batch < 1 || batch > kMaxBatch)
    return error(StatusCode::kInvalidArgument, "batch ", batch, " out of range (1 to ", kMaxBatch, ")");
  if (imgsz > 0 && batch * imgsz * imgsz > kMaxBatchPixels)
    return error(StatusCode::kInvalidArgument, "batch ", batch, " at imgsz ", imgsz, " is too large (batch x imgsz^2 over ",
                 kMaxBatchPixels, " pixels)");
  return Status::Ok();
}

nlohmann::json to_json(const BuildOptions& o) {
  nlohmann::json j{{"device", o.device.to_string()}, {"precision", to_string(o.precision)}, {"batch", o.batch.to_string()},
                   {"imgsz", o.imgsz}, {"workspace_gb", o.workspace_gb}};
  if (o.height || o.width) j["input_hw"] = {o.height, o.width};
  if (!o.runtime_compiled_kernels) j["runtime_compiled_kernels"] = false;
  if (o.precision == Precision::kInt8) {
    std::error_code ec;
    const std::filesystem::path calib = o.int8.calib.empty() ? "" : std::filesystem::absolute(o.int8.calib, ec);
    j["int8"] = {{"calib", calib.lexically_normal().string()},
                 {"calib_images", o.int8.calib_images},
                 {"calib_method", o.int8.method.to_string()},
                 {"exclude", o.int8.exclude},
                 {"target_drop", o.int8.target_drop ? nlohmann::json(*o.int8.target_drop) : nlohmann::json(nullptr)}};
  }
  return j;
}

}  // namespace kiln::engine
