#include "engine/describe.h"

#include <iomanip>
#include <sstream>

#include "engine/engine.h"

namespace kiln::engine {

namespace {

std::string mib(uint64_t bytes) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / 1048576.0 << " MiB";
  return os.str();
}

// The CUDA plans a file records: prepared batches, the batches run split, memory, and each
// step with its tactic.
void describe_plans(const EnginePlans& plans, std::ostringstream& os, nlohmann::json& j) {
  if (plans.empty()) {
    os << "plans       none (a CPU engine, or built where no GPU could plan it)\n";
    return;
  }
  size_t recorded = 0;
  for (char c : plans.recorded) recorded += c == '\n';
  os << "plans       " << plans.prepared.size() << " prepared batch" << (plans.prepared.size() == 1 ? "" : "es") << " (";
  for (size_t i = 0; i < plans.prepared.size(); ++i) os << (i ? ", " : "") << plans.prepared[i].input[0];
  os << "), " << recorded << " recorded cuDNN plans / cuBLASLt algorithms; loading replays them (no tuning)\n";
  os << "memory      weights " << mib(plans.weight_bytes) << " (shared by every context)\n";
  nlohmann::json prepared = nlohmann::json::array();
  for (const PreparedPlan& p : plans.prepared) {
    os << "  batch " << std::setw(4) << p.input[0] << "  per context " << mib(p.context_bytes()) << ": arena "
       << mib(p.arena_bytes) << ", workspace " << mib(p.workspace_bytes) << ", I/O " << mib(p.io_bytes) << ", cuBLAS "
       << mib(p.cublas_bytes) << "\n";
    nlohmann::json steps = nlohmann::json::array();
    for (const PlanStep& s : p.steps) steps.push_back({{"node", s.name}, {"tactic", s.tactic}});
    prepared.push_back({{"input", p.input}, {"structure_sha256", p.structure_sha256}, {"arena_bytes", p.arena_bytes},
                        {"workspace_bytes", p.workspace_bytes}, {"io_bytes", p.io_bytes}, {"cublas_bytes", p.cublas_bytes},
                        {"context_bytes", p.context_bytes()}, {"steps", steps}});
  }
  nlohmann::json splits = nlohmann::json::array();
  for (const auto& [n, chunks] : plans.splits) splits.push_back({{"batch", n}, {"chunks", chunks}});
  if (!plans.splits.empty())
    os << "split       batches run as chunks side by side (measured faster than padded): " << splits_text(plans.splits)
       << "\n";
  const PreparedPlan& first = plans.prepared.front();
  os << "steps       " << first.steps.size() << " at batch " << first.input[0] << " (node: tactic)\n";
  for (const PlanStep& s : first.steps) os << "  " << s.name << ": " << s.tactic << "\n";
  j["plans"] = {{"weight_bytes", plans.weight_bytes}, {"recorded_entries", recorded}, {"prepared", prepared},
                {"splits", splits}};
}

// An INT8 engine: where its ranges came from, how many layers run in INT8, and each float
// layer with the reason it stays float.
void describe_int8(const Int8Info& i, std::ostringstream& os) {
  size_t int8 = 0;
  for (const quant::LayerChoice& l : i.layers) int8 += l.precision == quant::LayerPrecision::kInt8;
  os << "int8        " << int8 << " of " << i.layers.size() << " quantizable layers in INT8, "
     << i.layers.size() - int8 << " float; ";
  if (i.source == "calibration")
    os << "calibrated on " << i.images << " images of " << i.calibration_data << " (" << i.method << ", calibration "
       << i.calibration_key.substr(0, 16) << (i.calibration_reused ? ", reused" : "") << ")\n"
       << "  statistics gathered on " << i.calibration_device << "\n";
  else
    os << "scales from the model's Q/DQ nodes\n";
  if (!i.sensitivity.empty()) os << "  sensitivity " << i.sensitivity << "\n";
  for (const quant::LayerChoice& l : i.layers)
    if (l.precision == quant::LayerPrecision::kFloat) os << "  float " << l.node << " (" << l.op << "): " << l.reason << "\n";
}

}  // namespace

Result<Description> describe(const std::filesystem::path& path, const SigningKey* key) {
  KILN_ASSIGN_OR_RETURN(EngineInfo info, inspect_engine(path, key));
  const EngineMetadata& m = info.metadata;
  nlohmann::json j = to_json(m);
  j["file"] = {{"path", path.string()}, {"size", info.file_size}, {"format_version", info.format_version},
               {"flags", info.flags}, {"checksum_ok", info.checksum_ok},
               {"signature", signature_state_name(info.signature)},
               {"sections", {{"graph", info.graph_bytes}, {"weights", info.weight_bytes}, {"plans", info.plan_bytes}}}};

  std::ostringstream os;
  const Fingerprint& e = m.environment;
  os << "engine      " << path.string() << " (" << info.file_size << " bytes, format v" << info.format_version
     << ", checksum " << (info.checksum_ok ? "ok" : "MISMATCH") << ")\n";
  os << "signature   " << signature_state_name(info.signature) << "\n";
  os << "model       " << m.model.source_path << "\n";
  os << "  sha256    " << m.model.source_sha256 << "\n";
  os << "  task      " << (m.model.task.empty() ? "unknown" : m.model.task) << ", " << m.model.names.size()
     << " classes, stride " << m.model.stride << ", imgsz " << m.model.imgsz_h << "x" << m.model.imgsz_w
     << ", opset " << m.model.opset;
  if (!m.model.kpt_shape.empty()) os << ", kpt_shape [" << m.model.kpt_shape[0] << "," << m.model.kpt_shape.back() << "]";
  os << "\nbuild       " << m.build.device.to_string() << ", " << to_string(m.build.precision) << ", batch " << m.build.batch.to_string()
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
  if (m.build.int8) describe_int8(*m.build.int8, os);
  describe_plans(info.plans, os, j);
  return Description{os.str(), std::move(j)};
}

}  // namespace kiln::engine
