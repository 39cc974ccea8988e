// Post-training calibration data: the images a --calib DATA names and each one preprocessed
// exactly as predict feeds the engine (vision::letterbox to the build's input size, RGB NCHW
// float in [0, 1]), so activation ranges are measured on what the engine will see.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::quant {

// The first `count` images of `data`, sorted by path: a folder (searched recursively for
// jpg, jpeg, png, bmp and preprocessed .npy tensors), a glob pattern, or an Ultralytics
// dataset YAML (its train split, else its val split). No images is a NotFound naming `data`.
Result<std::vector<std::filesystem::path>> calibration_files(const std::string& data, int64_t count);

// One calibration file as a [1, 3, height, width] float32 input. An image is decoded and
// letterboxed; a .npy must already be float32 [1, 3, height, width] (or [3, height, width]).
// Unreadable files and tensors of another shape are errors naming the file.
Result<ir::Tensor> calibration_input(const std::filesystem::path& file, int64_t height, int64_t width);

}  // namespace kiln::quant
