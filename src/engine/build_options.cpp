#include "engine/build_options.h"

#include <algorithm>

namespace kiln::engine {

std::vector<int64_t> prepared_batches(const BatchProfile& p) {
  std::vector<int64_t> out{p.min};
  for (int64_t b = 1; b < p.max; b *= 2)
    if (b > p.min) out.push_back(b);
  out.push_back(p.opt);
  out.push_back(p.max);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

nlohmann::json to_json(const BuildOptions& o) {
  nlohmann::json j{{"device", o.device.to_string()}, {"precision", to_string(o.precision)}, {"batch", o.batch.to_string()},
                   {"imgsz", o.imgsz}, {"workspace_gb", o.workspace_gb}};
  if (o.height || o.width) j["input_hw"] = {o.height, o.width};
  return j;
}

}  // namespace kiln::engine
