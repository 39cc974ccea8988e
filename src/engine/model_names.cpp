#include "engine/model_names.h"

#include <cctype>
#include <cstdlib>

namespace kiln::engine {

namespace fs = std::filesystem;

std::optional<ModelName> parse_model_name(std::string_view stem) {
  std::string_view base = stem.substr(0, stem.find('-'));
  if (base.rfind("yolo", 0) != 0) return std::nullopt;
  base.remove_prefix(4);
  if (!base.empty() && base.front() == 'v') base.remove_prefix(1);
  size_t digits = 0;
  while (digits < base.size() && std::isdigit(static_cast<unsigned char>(base[digits]))) ++digits;
  if (digits == 0 || base.size() != digits + 1) return std::nullopt;
  char size = base.back();
  if (std::string_view("nsmlx").find(size) == std::string_view::npos) return std::nullopt;

  ModelName name{std::string(base.substr(0, digits)), size, "detect"};
  std::string_view rest = stem.substr(std::min(stem.size(), stem.find('-')));
  while (!rest.empty()) {
    rest.remove_prefix(1);
    std::string_view part = rest.substr(0, rest.find('-'));
    rest.remove_prefix(part.size());
    const char* task = part == "seg" ? "segment" : part == "pose" ? "pose" : part == "obb" ? "obb" : part == "cls" ? "classify" : nullptr;
    if (task) {
      name.task = task;
      break;
    }
  }
  return name;
}

int64_t default_imgsz(const std::string& task) {
  if (task == "classify") return 224;
  if (task == "obb") return 1024;
  return 640;
}

fs::path models_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("KILN_MODELS_DIR"); env && *env) return env;
  return {};
}

Result<fs::path> resolve_model(const std::string& arg, const fs::path& dir) {
  std::error_code ec;
  fs::path p(arg);
  if (fs::is_regular_file(p, ec)) return p;
  bool bare = !arg.empty() && !p.has_parent_path() && !p.has_extension();
  if (bare && !dir.empty()) {
    fs::path candidate = dir / (arg + ".onnx");
    if (fs::is_regular_file(candidate, ec)) return candidate;
    return error(StatusCode::kNotFound, "model '", arg, "': no such file, and no ", candidate.string());
  }
  if (bare) return error(StatusCode::kNotFound, "model '", arg, "': no such file (set --models-dir or KILN_MODELS_DIR to look up model names)");
  return error(StatusCode::kNotFound, arg, ": no such file");
}

}  // namespace kiln::engine
