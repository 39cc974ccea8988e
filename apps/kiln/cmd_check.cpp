// kiln check ENGINE... [--rebuild] [--on-mismatch auto|prompt|fail] [--sign-key FILE] [--json]
// Exit 0: every engine can run here; 3: one needs a rebuild (reasons listed as critical
// or warning); 2: an engine could not be read or rebuilt, or a signing key is configured
// (--sign-key, else $KILN_ENGINE_KEY) and the engine is not signed with it. --rebuild (= --on-mismatch
// auto) rebuilds from the recorded source model and replaces the engine atomically;
// prompt asks on a terminal and behaves as fail when there is none.
#include <unistd.h>

#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "cli_output.h"
#include "commands.h"
#include "core/json_text.h"
#include "engine/builder.h"
#include "engine/compatibility.h"

namespace kiln::cli {

void add_on_mismatch_option(CLI::App& sub, std::string& value) {
  sub.add_option("--on-mismatch", value, "When an engine needs a rebuild: auto | prompt | fail")
      ->check(CLI::IsMember({"auto", "prompt", "fail"}));
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct CheckArgs {
  std::vector<std::string> engines;
  std::string sign_key;
  bool rebuild = false, json = false;
  std::string on_mismatch = "fail";
};

bool ask_to_rebuild(const engine::EngineInfo& info) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) return false;
  std::cerr << "Rebuild " << info.path.string() << " from " << info.metadata.model.source_path << "? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

// Checks one engine (rebuilding it if the policy says so); returns its exit code.
int check_one(const fs::path& path, engine::MismatchPolicy policy, const engine::Environment& env,
              const std::optional<engine::SigningKey>& key, json& out) {
  out = {{"engine", path.string()}};
  auto info = engine::inspect_engine(path, key ? &*key : nullptr);
  if (!info.ok()) {
    out["error"] = info.status().message();
    return report_error("check", info.status());
  }
  out["signature"] = engine::signature_state_name(info->signature);
  // An engine loading would refuse is not rebuilt either: it is not trusted.
  if (key) {
    if (Status signed_ok = engine::require_valid_signature(info->signature, path, *key); !signed_ok.ok()) {
      out["error"] = signed_ok.message();
      return report_error("check", signed_ok);
    }
  }
  auto checked = engine::check_engine(*info, env);
  if (!checked.ok()) {
    out["error"] = checked.status().message();
    return report_error("check", checked.status());
  }
  const engine::Verdict& verdict = *checked;
  json reasons = json::array();
  for (const auto& r : verdict.reasons) reasons.push_back({{"severity", engine::severity_name(r.severity)}, {"message", r.message}});
  out["reasons"] = reasons;
  out["needs_rebuild"] = verdict.needs_rebuild();
  if (!verdict.needs_rebuild()) return kExitOk;

  bool rebuild = policy == engine::MismatchPolicy::kAuto ||
                 (policy == engine::MismatchPolicy::kPrompt && ask_to_rebuild(*info));
  if (!rebuild) return kExitNeedsRebuild;
  Messages messages("check", Verbosity::kNormal);
  BuildProgress progress(messages);
  auto report = engine::rebuild_engine(*info, key, progress.hook());
  progress.finish();
  if (!report.ok()) {
    out["error"] = report.status().message();
    report_error("check", report.status());
    // No source to rebuild from (gone, or not the model the engine was built from): it
    // still needs a rebuild, which only `kiln build` can make.
    const StatusCode c = report.status().code();
    return c == StatusCode::kNotFound || c == StatusCode::kIncompatible ? kExitNeedsRebuild : kExitError;
  }
  out["rebuilt"] = true;
  out["build_seconds"] = report->metadata.build.build_seconds;
  auto again = engine::inspect_engine(path);
  bool ok = again.ok() && !engine::check_compatibility(*again, env).needs_rebuild();
  out["needs_rebuild"] = !ok;
  return ok ? kExitOk : kExitNeedsRebuild;
}

void print_text(const json& r, int code) {
  std::string path = r["engine"];
  if (r.contains("error") && !r.contains("reasons")) return;  // already reported on stderr
  std::cout << path << ": "
            << (r.value("rebuilt", false) ? (code == kExitOk ? "rebuilt, compatible" : "rebuilt, still incompatible")
                : code == kExitOk         ? "compatible"
                                          : "needs rebuild")
            << "\n";
  if (r.value("signature", "unsigned") != "unsigned") std::cout << "  signature: " << r["signature"].get<std::string>() << "\n";
  for (const auto& reason : r["reasons"])
    std::cout << "  " << reason["severity"].get<std::string>() << ": " << reason["message"].get<std::string>() << "\n";
  std::cout << std::flush;
}

int run_check(const CheckArgs& a) {
  auto policy = engine::parse_mismatch_policy(a.rebuild ? "auto" : a.on_mismatch);
  if (!policy.ok()) return report_error("check", policy.status());
  auto env = engine::detect_environment();
  if (!env.ok()) return report_error("check", env.status());
  auto key = engine::resolve_signing_key(a.sign_key, std::nullopt);
  if (!key.ok()) return report_error("check", key.status());
  int worst = kExitOk;
  json all = json::array();
  for (const std::string& e : a.engines) {
    json r;
    int code = check_one(e, *policy, *env, *key, r);
    if (!a.json) print_text(r, code);
    r["exit_code"] = code;
    all.push_back(r);
    // Errors outrank "needs rebuild", which outranks ok.
    if (code == kExitError || worst == kExitError) worst = kExitError;
    else if (code == kExitNeedsRebuild) worst = kExitNeedsRebuild;
  }
  if (a.json) std::cout << json_text(all, 2) << std::endl;
  return worst;
}

}  // namespace

Runner register_check(CLI::App& app) {
  auto a = std::make_shared<CheckArgs>();
  CLI::App* sub = app.add_subcommand("check", "Check that engines can run here (exit 0 ok, 3 needs rebuild, 2 error)");
  sub->add_option("engines", a->engines, "Engine files")->required();
  sub->add_flag("--rebuild", a->rebuild, "Rebuild incompatible engines from their source model (= --on-mismatch auto)");
  add_on_mismatch_option(*sub, a->on_mismatch);
  add_sign_key_option(*sub, a->sign_key, "Refuse engines not signed with this secret key file");
  sub->add_flag("--json", a->json, "Print the verdicts as JSON");
  return [a] { return run_check(*a); };
}

}  // namespace kiln::cli
