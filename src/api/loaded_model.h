// A model ready to run: what Model::info() reports and the Runner that executes it.
// load_model() is where the input file, the request (ModelOptions) and this machine meet:
// an .onnx goes through the engine cache (or, for a dynamic-size model at batch 1, runs
// from its graph, on a GPU one CUDA engine per input size, so each image keeps its own
// letterbox size); a .kiln is checked against
// this machine's fingerprint under the mismatch policy.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "api/runner.h"
#include "kiln/model.h"

namespace kiln::api {

struct LoadedModel {
  ModelInfo info;
  std::string name;      // the file, for error messages
  bool end2end = false;  // NMS-free export
  bool flexible_batch = false;  // the graph's batch is symbolic (an engine of a batch profile)
  std::unique_ptr<Runner> runner;
};

Result<LoadedModel> load_model(const std::filesystem::path& path, const ModelOptions& options);

// Letterbox, infer (info.batch images at a time), decode: on the device when the runner
// has a DevicePredictor (CUDA), else on the CPU.
Result<std::vector<Prediction>> predict_images(LoadedModel& model, std::span<const ImageView> images,
                                               const PredictOptions& options);
// Frames (kiln/frame.h) of one kind: host frames converted to BGR on the CPU and predicted
// as images; device frames through the runner's DevicePredictor (a CPU model refuses them).
Result<std::vector<Prediction>> predict_frames(LoadedModel& model, std::span<const Frame> frames,
                                               const PredictOptions& options);
// The same from an input already preprocessed as predict does ([N, 3, H, W], RGB in [0, 1]):
// infer and decode on the host, coordinates in the input's pixels.
Result<std::vector<Prediction>> predict_tensor(LoadedModel& model, const Tensor& input, const PredictOptions& options);
// The same from an input written into the device by the caller (kiln::DeviceInput), decoded
// on the device.
Result<std::vector<Prediction>> predict_device_input(LoadedModel& model, const DeviceInput& input,
                                                     const PredictOptions& options);
// The runner's DevicePredictor for a device input; InvalidArgument without a fill or a GPU.
Result<DevicePredictor*> device_input_predictor(LoadedModel& model, const DeviceInput& input);

}  // namespace kiln::api
