// Calibration results kept beside the engines: "calibration-<key>.json" in the engine
// cache directory, keyed by SHA-256 of the model's bytes, the calibration files' names and
// content hashes, the calibration revision, the method, the image count and the input
// size, so an INT8 build of the same model on the same data (another batch profile, other
// excluded layers, a rebuild) reuses it instead of running the images again. Statistics
// gathered on a GPU are keyed by that GPU and its CUDA and cuDNN versions too: they differ
// from the CPU's by rounding, so a key always names one set of bits, and a build on the CPU
// never takes a GPU's ranges nor one on the GPU the CPU's. Written atomically; an
// unreadable or foreign file is ignored and rewritten.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "kiln/options.h"
#include "kiln/status.h"
#include "quant/calibrate.h"

namespace kiln::engine {

// Hex SHA-256 of what a calibration depends on; IoError / NotFound naming an unreadable file.
// `gpu`: the GPU that gathers the statistics (calibrate_cuda.h: calibration_gpu), empty for
// the CPU (whose keys are those of kilns that calibrated on the CPU alone).
Result<std::string> calibration_key(std::span<const uint8_t> model_bytes, std::span<const std::filesystem::path> files,
                                    const CalibrationMethod& method, int64_t height, int64_t width,
                                    const std::string& gpu);

std::filesystem::path calibration_cache_file(const std::filesystem::path& dir, const std::string& key);

// The calibration stored under `key`, if a valid one is there.
std::optional<quant::Calibration> load_calibration(const std::filesystem::path& dir, const std::string& key);
Status save_calibration(const std::filesystem::path& dir, const std::string& key, const quant::Calibration& calibration);

}  // namespace kiln::engine
