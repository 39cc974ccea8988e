#include "engine/calibration_cache.h"

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/json_text.h"
#include "engine/sha256.h"

namespace kiln::engine {

namespace fs = std::filesystem;

Result<std::string> calibration_key(std::span<const uint8_t> model_bytes, std::span<const fs::path> files,
                                    const CalibrationMethod& method, int64_t height, int64_t width,
                                    const std::string& gpu) {
  Sha256 h;
  h.update(to_hex(sha256(model_bytes)));
  for (const fs::path& f : files) {
    KILN_ASSIGN_OR_RETURN(std::string digest, sha256_file_hex(f));
    h.update("\n").update(f.filename().string()).update(" ").update(digest);
  }
  h.update("\nrevision " + std::to_string(quant::kCalibrationRevision));
  h.update("\nmethod " + method.to_string() + "\nimages " + std::to_string(files.size()) + "\ninput " +
           std::to_string(height) + "x" + std::to_string(width));
  if (!gpu.empty()) h.update("\ngpu " + gpu);
  return to_hex(h.finish());
}

fs::path calibration_cache_file(const fs::path& dir, const std::string& key) {
  return dir / ("calibration-" + key.substr(0, 16) + ".json");
}

std::optional<quant::Calibration> load_calibration(const fs::path& dir, const std::string& key) {
  auto bytes = read_file(calibration_cache_file(dir, key));
  if (!bytes.ok()) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("key", "") != key || !j.contains("activations") || !j["activations"].is_object())
    return std::nullopt;
  quant::Calibration c;
  for (const auto& [name, a] : j["activations"].items()) {
    if (!a.is_object() || !a.contains("amax") || !a["amax"].is_number() || !a.contains("noise_to_signal") ||
        !a["noise_to_signal"].is_number())
      return std::nullopt;
    c.ranges[name] = a["amax"].get<float>();
    c.noise_to_signal[name] = a["noise_to_signal"].get<double>();
  }
  return c;
}

Status save_calibration(const fs::path& dir, const std::string& key, const quant::Calibration& c) {
  nlohmann::json activations = nlohmann::json::object();
  for (const auto& [name, amax] : c.ranges) {
    auto nsr = c.noise_to_signal.find(name);
    activations[name] = {{"amax", amax}, {"noise_to_signal", nsr == c.noise_to_signal.end() ? 0.0 : nsr->second}};
  }
  const std::string text = json_text(nlohmann::json{{"key", key}, {"activations", activations}}, 1);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return error(StatusCode::kIoError, dir.string(), ": cannot create the cache directory: ", ec.message());
  return write_file_atomic(calibration_cache_file(dir, key), text.data(), text.size());
}

}  // namespace kiln::engine
