#include "engine/builder.h"

#include "engine/sha256.h"

namespace kiln::engine {

namespace fs = std::filesystem;

Result<BuildReport> build_engine(const fs::path& model, const BuildOptions& options, const fs::path& output,
                                 const Progress& progress) {
  KILN_ASSIGN_OR_RETURN(CompiledModel compiled, compile(model, options, progress));
  if (progress) progress("writing " + output.string());
  const SigningKey* key = options.signing_key ? &*options.signing_key : nullptr;
  std::vector<uint8_t> file = encode_engine_file(compiled.metadata, compiled.graph, compiled.plans, key);
  KILN_RETURN_IF_ERROR(save_engine(output, file));
  return BuildReport{output, file.size(), std::move(compiled.metadata), std::move(compiled.cuda)};
}

Result<BuildReport> rebuild_engine(const EngineInfo& engine, const std::optional<SigningKey>& key,
                                   const Progress& progress) {
  const EngineMetadata& m = engine.metadata;
  std::error_code ec;
  if (m.model.source_path.empty() || !fs::is_regular_file(m.model.source_path, ec))
    return error(StatusCode::kNotFound, engine.path.string(), ": cannot rebuild: source model ",
                 m.model.source_path.empty() ? "(not recorded)" : m.model.source_path, " no longer exists");
  KILN_ASSIGN_OR_RETURN(std::string sha, sha256_file_hex(m.model.source_path));
  if (sha != m.model.source_sha256)
    return error(StatusCode::kIncompatible, engine.path.string(), ": cannot rebuild: source model ",
                 m.model.source_path, " changed since the engine was built (SHA-256 differs)");
  BuildOptions options;
  options.device = m.build.device;
  options.precision = m.build.precision;
  options.batch = m.build.batch;
  options.imgsz = m.model.imgsz_h == m.model.imgsz_w ? m.model.imgsz_h : 0;
  if (!options.imgsz) {
    options.height = m.model.imgsz_h;
    options.width = m.model.imgsz_w;
  }
  options.workspace_gb = m.build.workspace_gb;
  options.signing_key = key;
  return build_engine(m.model.source_path, options, engine.path, progress);
}

}  // namespace kiln::engine
