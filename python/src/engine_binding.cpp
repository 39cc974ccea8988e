// kiln.build and kiln.check: what `kiln build --json` and `kiln check --json` report, as
// JSON text the Python side turns into dicts. $KILN_ENGINE_KEY signs and checks engines as
// in the CLI.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <nlohmann/json.hpp>

#include "bindings.h"
#include "core/json_text.h"
#include "engine/builder.h"
#include "engine/cache.h"
#include "engine/compatibility.h"
#include "engine/config.h"
#include "engine/model_names.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kiln::python {

namespace {

namespace fs = std::filesystem;

struct BuildRequest {
  std::string model, output, cache_dir, models_dir;
  engine::OptionOverrides overrides;
  bool force = false, verify = true;
};

Result<std::string> build(const BuildRequest& r) {
  KILN_ASSIGN_OR_RETURN(fs::path model, engine::resolve_model(r.model, engine::models_dir(r.models_dir)));
  KILN_ASSIGN_OR_RETURN(engine::BuildOptions options, engine::resolve_build_options(nullptr, nullptr, r.overrides));
  options.verify = r.verify;
  KILN_ASSIGN_OR_RETURN(options.signing_key, engine::resolve_signing_key("", std::nullopt));
  fs::path path;
  bool built = true;
  if (!r.output.empty()) {
    KILN_ASSIGN_OR_RETURN(engine::BuildReport report, engine::build_engine(model, options, r.output));
    path = report.path;
  } else {
    engine::Cache cache(engine::default_cache_dir(r.cache_dir, std::nullopt));
    KILN_ASSIGN_OR_RETURN(engine::CacheOutcome outcome, cache.get_or_build(model, options, r.force));
    path = outcome.path;
    built = outcome.built;
  }
  KILN_ASSIGN_OR_RETURN(engine::EngineInfo info, engine::inspect_engine(path));
  return json_text(nlohmann::json{{"engine", path.string()}, {"built", built}, {"size", info.file_size},
                                  {"metadata", engine::to_json(info.metadata)}});
}

Result<std::string> check(const fs::path& path) {
  KILN_ASSIGN_OR_RETURN(std::optional<engine::SigningKey> key, engine::resolve_signing_key("", std::nullopt));
  KILN_ASSIGN_OR_RETURN(engine::EngineInfo info, engine::inspect_engine(path, key ? &*key : nullptr));
  if (key) KILN_RETURN_IF_ERROR(engine::require_valid_signature(info.signature, path, *key));
  KILN_ASSIGN_OR_RETURN(engine::Environment env, engine::detect_environment());
  KILN_ASSIGN_OR_RETURN(engine::Verdict verdict, engine::check_engine(info, env));
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& r : verdict.reasons)
    reasons.push_back({{"severity", engine::severity_name(r.severity)}, {"message", r.message}});
  return json_text(
      nlohmann::json{{"engine", path.string()}, {"reasons", reasons}, {"needs_rebuild", verdict.needs_rebuild()}});
}

}  // namespace

void bind_engine(nb::module_& m) {
  m.def("build",
        [](const std::string& model, const std::string& output, std::optional<std::string> device,
           std::optional<std::string> precision, std::optional<std::string> batch, std::optional<int64_t> imgsz,
           std::optional<double> workspace, bool force, bool verify, const std::string& cache_dir,
           const std::string& models_dir) {
          BuildRequest r{model, output, cache_dir, models_dir, {device, precision, batch, imgsz, workspace}, force, verify};
          return without_gil([&] { return build(r); });
        },
        "model"_a, "output"_a = "", "device"_a = nb::none(), "precision"_a = nb::none(), "batch"_a = nb::none(),
        "imgsz"_a = nb::none(), "workspace"_a = nb::none(), "force"_a = false, "verify"_a = true, "cache_dir"_a = "",
        "models_dir"_a = "", "Builds an engine (into the cache unless `output`); `kiln build --json`'s summary");
  m.def("check", [](const std::string& path) { return without_gil([&] { return check(path); }); }, "engine"_a,
        "Can this engine run here? `kiln check --json`'s verdict for one engine");
}

}  // namespace kiln::python
