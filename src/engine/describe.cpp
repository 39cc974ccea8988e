#include "engine/describe.h"

#include <iomanip>
#include <sstream>

#include "engine/engine.h"

namespace kiln::engine {

Result<Description> describe(const std::filesystem::path& path) {
  KILN_ASSIGN_OR_RETURN(EngineInfo info, inspect_engine(path));
  const EngineMetadata& m = info.metadata;
  nlohmann::json j = to_json(m);
  j["file"] = {{"path", path.string()}, {"size", info.file_size}, {"format_version", info.format_version},
               {"flags", info.flags}, {"checksum_ok", info.checksum_ok},
               {"sections", {{"graph", info.graph_bytes}, {"weights", info.weight_bytes}, {"tactics", info.tactic_bytes}}}};

  std::ostringstream os;
  const Fingerprint& e = m.environment;
  os << "engine      " << path.string() << " (" << info.file_size << " bytes, format v" << info.format_version
     << ", checksum " << (info.checksum_ok ? "ok" : "MISMATCH") << ")\n";
  os << "model       " << m.model.source_path << "\n";
  os << "  sha256    " << m.model.source_sha256 << "\n";
  os << "  task      " << (m.model.task.empty() ? "unknown" : m.model.task) << ", " << m.model.names.size()
     << " classes, stride " << m.model.stride << ", imgsz " << m.model.imgsz_h << "x" << m.model.imgsz_w
     << ", opset " << m.model.opset;
  if (!m.model.kpt_shape.empty()) os << ", kpt_shape [" << m.model.kpt_shape[0] << "," << m.model.kpt_shape.back() << "]";
  os << "\nbuild       " << m.build.device << ", " << m.build.precision << ", batch " << m.build.batch.to_string()
     << ", workspace " << m.build.workspace_gb << " GB, tactics " << m.build.tactics << ", "
     << std::fixed << std::setprecision(2) << m.build.build_seconds << " s, built " << m.built_at << "\n";
  os << "verified    ";
  if (m.build.max_relative_error) os << "max relative error " << std::scientific << std::setprecision(2) << *m.build.max_relative_error;
  else os << m.build.verification_note;
  os << "\nenvironment " << e.device_kind;
  if (e.device_kind == "cuda")
    os << ", " << e.gpu_name << " (sm " << e.compute_capability << "), driver " << e.driver << ", CUDA " << e.cuda_runtime
       << ", cuDNN " << e.cudnn << ", cuBLASLt " << e.cublaslt;
  os << ", kiln " << e.kiln_version << "\n";
  return Description{os.str(), std::move(j)};
}

}  // namespace kiln::engine
