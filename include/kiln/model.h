// kiln's C++ API: load a YOLO model (an Ultralytics ONNX export, built into an engine
// through the engine cache, or a .kiln engine file) and run it on images.
//
//   auto model = kiln::Model::load("yolo11n.onnx", {.device = kiln::Device::cuda(0),
//                                                   .precision = kiln::Precision::kFp16});
//   if (!model.ok()) { ... model.status().message() ... }
//   auto image = kiln::load_image("bus.jpg");
//   auto result = model->predict(*image);   // result->boxes: class_id, confidence, box
//
// Errors are kiln::Status values with a one-line message; nothing here throws, exits or
// prints.
//
// Threads: a Model may be shared. predict() and run() may be called from several threads at
// once; each call borrows an execution context of its own (created on first need, kept for
// reuse) while all of them share the engine's weights, so N threads in flight hold the
// weights once plus N contexts. info() is immutable after load.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kiln/frame.h"
#include "kiln/image.h"
#include "kiln/options.h"
#include "kiln/prediction.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln {

// What to do with a .kiln engine whose fingerprint says it must be rebuilt for this machine.
enum class MismatchPolicy {
  kAuto,    // rebuild it from its recorded source model, replacing the file atomically
  kPrompt,  // ask ModelOptions::confirm_rebuild; without one, behave as kFail
  kFail,    // return an Incompatible error listing the reasons
};

struct ModelOptions {
  // Unset: an .onnx runs on the CPU, a .kiln where it was built. A .kiln runs only on the
  // device and at the precision it was built for; a different request is an InvalidArgument.
  std::optional<Device> device;
  std::optional<Precision> precision;  // fp16 / tf32 need a GPU; unset: fp32, or the engine's
  // kInt8 (.onnx only): calibration data and which layers stay float (kiln/options.h).
  Int8Options int8;
  // Images per inference (.onnx only): N, or a profile MIN:OPT:MAX whose engine runs n
  // images at the smallest prepared batch >= n. A dynamic-size model with batch 1 runs each
  // image at its own letterbox size (on a GPU, through one CUDA engine per size, each built
  // on first use); any other .onnx becomes a static-size engine.
  BatchProfile batch = 1;
  int imgsz = 0;  // input size for .onnx models; 0: the model's own (metadata, name, input)
  std::filesystem::path cache_dir;  // empty: $KILN_CACHE_DIR, else ~/.cache/kiln
  // A secret key file (at least 32 bytes; docs/SECURITY.md): engines the cache builds are
  // signed with it (HMAC-SHA256) and an engine is loaded only if it carries its signature.
  // Empty: $KILN_ENGINE_KEY when set, else engines are neither signed nor checked.
  std::filesystem::path engine_key;
  MismatchPolicy on_mismatch = MismatchPolicy::kAuto;
  // Asked under kPrompt with the reasons (one line); true rebuilds.
  std::function<bool(const std::string& reasons)> confirm_rebuild;
  // true: a GPU that was asked for (device cuda) or that the engine was built for must be
  // there; false: without one, the model runs on the CPU backend and info().note says so.
  bool strict_gpu = false;
  // One-line progress messages while an engine is built ("importing ...", "verifying").
  std::function<void(const std::string&)> progress;
  // What a model without Ultralytics metadata lacks (or what to use instead of its
  // metadata): the task (detect | segment | pose | obb | classify) and class names by id.
  // Empty: the metadata's; without a task there, the file name's (yolo11n-seg -> segment).
  std::string task;
  std::vector<std::string> names;
};

struct PredictOptions {
  float conf = 0.25f;         // keep boxes whose best class score is > conf
  double iou = 0.7;           // NMS IoU threshold (same class)
  int max_det = 300;
  std::vector<int> classes;   // keep only these class ids; empty: all
  bool agnostic_nms = false;  // one NMS across classes
};

// A graph input or output for run(): -1 marks a dim fixed per call (dynamic), an empty
// shape one the model does not declare.
struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
};

struct ModelInfo {
  std::string task;                 // detect | segment | pose | obb | classify | "" (not YOLO)
  std::vector<std::string> names;   // class names by id
  int stride = 32;
  int imgsz_h = 0, imgsz_w = 0;     // the input size (the bound of a per-image dynamic size)
  bool dynamic_input = false;       // each image gets its own letterbox size (multiple of stride)
  std::vector<int64_t> kpt_shape;   // pose: {17, 3}
  int batch = 1;                    // most images per inference (the profile's MAX)
  Device device;                    // where it runs
  Precision precision = Precision::kFp32;
  std::filesystem::path engine_path;  // the .kiln file it runs (empty when run from the ONNX graph)
  bool engine_built = false;        // load() built or rebuilt the engine
  std::string note;                 // e.g. why it runs on the CPU though a GPU was asked for
  std::string build_reason;         // when engine_built: "first use", or why it was rebuilt
  std::string metadata_note;        // where task / names came from when not the metadata
  std::vector<TensorInfo> inputs, outputs;  // what run() takes and gives
};

// An input that the caller writes straight into a GPU model's device memory (e.g. crops of
// a frame already on the device, fitted by a kernel of the caller's): `shape` as
// predict_tensor and run take it ([N, 3, H, W]). For each inference of n inputs the model
// calls fill(dst, first, n, stream): write inputs first .. first + n - 1 into `dst` ([n, 3,
// H, W] float32, device memory of the model's GPU) by work enqueued on `stream` (a
// cudaStream_t) and return; that stream already waits for what was enqueued on `ready`
// (the stream on which what fill reads is ready, as Frame::stream) when the call began.
struct DeviceInput {
  std::vector<int64_t> shape;
  std::function<Status(float* dst, size_t first, size_t n, void* stream)> fill;
  void* ready = nullptr;
};

class Model {
 public:
  // `path`: an .onnx file (built into an engine through the cache on first use) or a .kiln
  // engine (checked against this machine's fingerprint; see MismatchPolicy).
  static Result<Model> load(const std::filesystem::path& path, const ModelOptions& options = {});

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelInfo& info() const;

  // YOLO tasks: letterbox as Ultralytics does, infer, decode. Unsupported for models
  // without a task.
  Result<Prediction> predict(const Image& image, const PredictOptions& options = {});
  // Several images, info().batch per inference; results in the order of `images`.
  Result<std::vector<Prediction>> predict(std::span<const Image> images, const PredictOptions& options = {});
  // The same from caller-owned pixels (ImageView; PinnedImage::view() for the fastest GPU
  // path). On a CUDA model the whole pipeline runs on the GPU: letterbox kernel into the
  // engine's input, inference, decode + NMS kernels, only the kept items copied back.
  Result<Prediction> predict(const ImageView& image, const PredictOptions& options = {});
  Result<std::vector<Prediction>> predict(std::span<const ImageView> images, const PredictOptions& options = {});
  // The same from frames (kiln/frame.h: planes with a pitch; BGR, RGB or NV12), all in host
  // memory or all in device memory. Host frames are converted to BGR on the CPU (NV12 as
  // FFmpeg's swscale converts decoded video, BT.601 limited range) and predicted as images.
  // Device frames need a model on a GPU: one kernel per frame converts and letterboxes it
  // into the engine's input on the frame's stream, no copy of the frame reaches the host.
  // Device frames on a CPU model, planes not in the memory the frame names, a null plane,
  // a pitch shorter than a row or an odd-sized NV12 frame: InvalidArgument naming it.
  Result<Prediction> predict(const Frame& frame, const PredictOptions& options = {});
  Result<std::vector<Prediction>> predict(std::span<const Frame> frames, const PredictOptions& options = {});

  // An input the caller preprocessed as predict does: [N, 3, H, W] float32, RGB in [0, 1],
  // letterboxed to the model's input size (a dynamic-size model: multiples of its stride up
  // to its bound). Inferred info().batch at a time and decoded per task; coordinates (and
  // masks) are in the input's pixels, since the original image is the caller's. A wrong
  // shape is an InvalidArgument naming it.
  Result<std::vector<Prediction>> predict_tensor(const Tensor& input, const PredictOptions& options = {});

  // Raw inference: float32 inputs in the model's input order and shapes, outputs as the
  // model declares them. Any batch of 1 to info().batch rows runs, on an engine of a batch
  // profile too (on the smallest size it prepared that holds them).
  Result<std::vector<Tensor>> run(std::span<const Tensor> inputs);

  // predict_tensor and run (a one-input model, at most info().batch inputs, outputs of N
  // rows) on an input written in device memory: no copy of the input reaches the host, only
  // the results. A model not on a GPU, a shape the model does not take or no fill:
  // InvalidArgument naming it.
  Result<std::vector<Prediction>> predict_tensor(const DeviceInput& input, const PredictOptions& options = {});
  Result<std::vector<Tensor>> run(const DeviceInput& input);

  // Makes the first predict of width x height images or frames as quick as the ones after
  // it: on a GPU, a dynamic-size model builds (or restores from its timing cache) the engine
  // for that size's letterbox input, and the model runs once so that its kernels are loaded.
  // A video loop calls it while its decoder starts. On the CPU, or for a model without a
  // task, there is nothing to do. A size that is not positive: InvalidArgument.
  Status prepare(int width, int height);

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
