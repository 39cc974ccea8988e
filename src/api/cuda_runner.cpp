// The CUDA side of runner.h. Compiled in every build; without KILN_API_CUDA (a CPU-only
// kiln) it only reports that the backend is missing.
#include "api/runner.h"

#if KILN_API_CUDA
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "api/gpu_predict.h"
#include "backends/cuda/engine.h"
#include "engine/compile.h"
#include "engine/cuda_engines.h"
#include "vision_cuda/letterbox_gpu.h"
#endif

namespace kiln::api {

#if KILN_API_CUDA

namespace {

Status select_device(int device) {
  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess) return error(StatusCode::kNotFound, "cuda:", device, ": ", cudaGetErrorString(e));
  return Status::Ok();
}

// The execution context of a batch over the prepared engines (one of them, or several side
// by side: cuda::BatchContext) and the GPU predictor that drives it: what one inference in
// flight needs. A runner lends them out, one call at a time each.
struct Session {
  std::unique_ptr<cuda::BatchContext> context;
  std::unique_ptr<DevicePredictor> predictor;  // uses context: declared after it, destroyed first
};

// The prepared engines of one CUDA engine file (one per batch size of its profile), with a
// pool of sessions: concurrent calls each borrow one, created when none is free, and select
// the way their batch runs (engine::CudaEngines::chunks_for), so N threads in flight cost N
// sessions and share the weights.
class CudaRunner : public Runner, public DevicePredictor {
 public:
  CudaRunner(std::shared_ptr<engine::CudaEngines> engines, int device) : engines_(std::move(engines)), device_(device) {}

  // n rows run as chunks_for(n) says: padded to the smallest engine prepared for >= n with
  // zero rows, the outputs' extra rows dropped, or split side by side.
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override {
    KILN_RETURN_IF_ERROR(select_device(device_));
    const int64_t n = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0), most = engines_->batches.back();
    if (n < 1 || n > most)
      return error(StatusCode::kInvalidArgument, "batch ", n, " is outside the engine's profile (1 to ", most, ")");
    KILN_ASSIGN_OR_RETURN(Lease lease, borrow(engines_->chunks_for(n)));
    return lease.session->context->run(inputs);
  }
  Result<DevicePredictor*> device_predictor() override { return this; }

  // Chunks of at most the largest prepared batch; each chunk of n images runs as
  // chunks_for(n) says.
  Result<std::vector<Prediction>> predict(const ModelInfo& info, const std::string& name, bool end2end,
                                          std::span<const ImageView> images, const PredictOptions& o) override {
    return in_chunks(images.size(), [&](DevicePredictor& p, size_t first, size_t n) {
      return p.predict(info, name, end2end, images.subspan(first, n), o);
    });
  }
  Result<std::vector<Prediction>> predict_frames(const ModelInfo& info, const std::string& name, bool end2end,
                                                 std::span<const Frame> frames, const PredictOptions& o) override {
    return in_chunks(frames.size(), [&](DevicePredictor& p, size_t first, size_t n) {
      return p.predict_frames(info, name, end2end, frames.subspan(first, n), o);
    });
  }
  Result<std::vector<Prediction>> predict_input(const ModelInfo& info, const std::string& name, bool end2end,
                                                const DeviceInput& input, const PredictOptions& o) override {
    if (input.shape.empty()) return error(StatusCode::kInvalidArgument, name, ": device input without a shape");
    return in_chunks(static_cast<size_t>(input.shape[0]), [&](DevicePredictor& p, size_t first, size_t n) {
      return p.predict_input(info, name, end2end, rows_of(input, first, n), o);
    });
  }
  Result<std::vector<Tensor>> run_input(const DeviceInput& input) override {
    KILN_RETURN_IF_ERROR(select_device(device_));
    const int64_t n = input.shape.empty() ? 0 : input.shape[0], most = engines_->batches.back();
    if (n < 1 || n > most)
      return error(StatusCode::kInvalidArgument, "run: a device input of ", n, " rows; the engine takes 1 to ", most);
    KILN_ASSIGN_OR_RETURN(Lease lease, borrow(engines_->chunks_for(n)));
    return lease.session->predictor->run_input(input);
  }
  Status check_memory(std::span<const Frame> frames) const override { return check_frame_memory(frames, device_); }

 private:
  // Rows first .. first + n - 1 of `input` as an input of their own.
  static DeviceInput rows_of(const DeviceInput& input, size_t first, size_t n) {
    DeviceInput rows{input.shape, nullptr, input.ready};
    rows.shape[0] = static_cast<int64_t>(n);
    rows.fill = [&input, first](float* dst, size_t f, size_t k, void* stream) { return input.fill(dst, first + f, k, stream); };
    return rows;
  }

  // `count` items in chunks; call(predictor, first, n) predicts items first .. first + n - 1.
  template <typename Call>
  Result<std::vector<Prediction>> in_chunks(size_t count, Call call) {
    KILN_RETURN_IF_ERROR(select_device(device_));
    const size_t most = static_cast<size_t>(engines_->batches.back());
    std::vector<Prediction> out;
    out.reserve(count);
    for (size_t first = 0; first < count; first += most) {
      const size_t n = std::min(most, count - first);
      KILN_ASSIGN_OR_RETURN(Lease lease, borrow(engines_->chunks_for(static_cast<int64_t>(n))));
      KILN_ASSIGN_OR_RETURN(auto got, call(*lease.session->predictor, first, n));
      for (Prediction& p : got) out.push_back(std::move(p));
    }
    return out;
  }

  // A borrowed session, given back to the pool when the lease ends.
  struct Lease {
    CudaRunner* owner = nullptr;
    std::unique_ptr<Session> session;
    Lease(CudaRunner* o, std::unique_ptr<Session> s) : owner(o), session(std::move(s)) {}
    Lease(Lease&& other) noexcept = default;
    ~Lease() {
      if (!session) return;
      std::lock_guard<std::mutex> lock(owner->mu_);
      owner->free_.push_back(std::move(session));
    }
  };

  // A session with `chunks` (engines side by side, by index) selected.
  Result<Lease> borrow(const std::vector<size_t>& chunks) {
    std::unique_ptr<Session> session;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        session = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!session) {
      std::vector<const cuda::Engine*> engines;
      for (const auto& e : engines_->engines) engines.push_back(e.get());
      session = std::make_unique<Session>();
      KILN_ASSIGN_OR_RETURN(session->context, cuda::BatchContext::create(engines));
      KILN_ASSIGN_OR_RETURN(session->predictor, make_gpu_predictor(*session->context, device_));
    }
    Lease lease(this, std::move(session));
    KILN_RETURN_IF_ERROR(lease.session->context->select(chunks));
    return lease;
  }

  std::shared_ptr<engine::CudaEngines> engines_;
  int device_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> free_;  // declared after engines_
};

// A model with symbolic height/width on the GPU: one engine per input size; predict
// letterboxes each image to its own minimal-padding size and runs it on that size's engine
// (one image per inference). Where kiln's own conv kernels cover the precision
// (cuda::quick_plans_available: FP16), a size's first engine is planned without
// runtime-compiled kernels (no cuDNN compile, tuning or module load: ready in tens of ms),
// and a size that keeps coming (a camera, an image sequence) gets a tuned engine built and
// warmed on a thread of its own, which takes over when it is ready; prepare() builds it at
// once. Elsewhere each size gets its tuned engine at once (through the timing cache).
class CudaShapesRunner : public Runner, public DevicePredictor {
 public:
  CudaShapesRunner(engine::SourceModel model, Precision precision, Device device)
      : source_(std::move(model)), precision_(precision), device_(device),
        quick_first_(cuda::quick_plans_available(precision)) {}
  ~CudaShapesRunner() override {
    stopping_ = true;  // a tuned build in progress stops at its next conv plan
    if (tuner_.joinable()) tuner_.join();
  }

  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override {
    if (inputs.size() != 1 || inputs[0].rank() != 4 || inputs[0].dim(0) != 1)
      return error(StatusCode::kInvalidArgument, source_.path.string(), ": expects one [1, 3, h, w] input");
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<Runner> r, runner_for(inputs[0].dim(2), inputs[0].dim(3)));
    return r->run(inputs);
  }
  Result<DevicePredictor*> device_predictor() override { return this; }
  // The size's tuned engine at once, built here: a video's frames all run on it.
  Status prepare(const ModelInfo& info, int width, int height) override {
    const vision_cuda::LetterboxLayout l = vision_cuda::letterbox_layout(width, height, info.imgsz_h, info.imgsz_w, info.stride);
    const Size size{l.height, l.width};
    {
      std::lock_guard<std::mutex> lock(mu_);
      SizeEngines& e = sizes_[size];
      if (e.tuned) return Status::Ok();
      e.tuned = true;
    }
    auto tuned = compile_size(size, /*tuned=*/true);
    std::lock_guard<std::mutex> lock(mu_);
    if (!tuned.ok()) {
      sizes_[size].tuned = false;
      return tuned.status();
    }
    put_in_place(size, std::move(*tuned));
    return Status::Ok();
  }

  Result<std::vector<Prediction>> predict(const ModelInfo& info, const std::string& name, bool end2end,
                                          std::span<const ImageView> images, const PredictOptions& o) override {
    return one_by_one(info, images, [&](DevicePredictor& p, std::span<const ImageView> one) {
      return p.predict(info, name, end2end, one, o);
    });
  }
  Result<std::vector<Prediction>> predict_frames(const ModelInfo& info, const std::string& name, bool end2end,
                                                 std::span<const Frame> frames, const PredictOptions& o) override {
    return one_by_one(info, frames, [&](DevicePredictor& p, std::span<const Frame> one) {
      return p.predict_frames(info, name, end2end, one, o);
    });
  }
  // A device input runs on the engine of its size.
  Result<std::vector<Prediction>> predict_input(const ModelInfo& info, const std::string& name, bool end2end,
                                                const DeviceInput& input, const PredictOptions& o) override {
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<Runner> r, runner_for_input(input));
    KILN_ASSIGN_OR_RETURN(DevicePredictor * p, r->device_predictor());
    return p->predict_input(info, name, end2end, input, o);
  }
  Result<std::vector<Tensor>> run_input(const DeviceInput& input) override {
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<Runner> r, runner_for_input(input));
    KILN_ASSIGN_OR_RETURN(DevicePredictor * p, r->device_predictor());
    return p->run_input(input);
  }
  Status check_memory(std::span<const Frame> frames) const override { return check_frame_memory(frames, device_.index); }

 private:
  using Size = std::pair<int64_t, int64_t>;  // height, width
  // Runs on a size's first engine after which its tuned one is built: a few seconds of a
  // camera or an image sequence. Not sooner: while it builds, every other size's first
  // engine takes longer (H100, a 128-image COCO folder with its common size tuned after 30
  // images: new sizes 46-54 ms instead of 38, and the tuned engine came too late to run).
  // A video calls Model::prepare, which builds it at once.
  static constexpr int kTunedAfterRuns = 100;

  struct SizeEngines {
    std::shared_ptr<Runner> current;  // a caller holds its own reference while it runs
    std::shared_ptr<Runner> replaced;  // the first engine, kept: a call may still be on it
    int runs = 0;
    bool tuned = false;  // current is the tuned engine, or that one is being built
  };

  // Each image or frame on the engine of its own letterbox size.
  template <typename Item, typename Call>
  Result<std::vector<Prediction>> one_by_one(const ModelInfo& info, std::span<const Item> items, Call call) {
    std::vector<Prediction> out;
    for (const Item& item : items) {
      const vision_cuda::LetterboxLayout l =
          vision_cuda::letterbox_layout(item.width, item.height, info.imgsz_h, info.imgsz_w, info.stride);
      KILN_ASSIGN_OR_RETURN(std::shared_ptr<Runner> r, runner_for(l.height, l.width));
      KILN_ASSIGN_OR_RETURN(DevicePredictor * p, r->device_predictor());
      KILN_ASSIGN_OR_RETURN(auto one, call(*p, std::span<const Item>(&item, 1)));
      out.push_back(std::move(one.at(0)));
    }
    return out;
  }

  Result<std::shared_ptr<Runner>> runner_for_input(const DeviceInput& input) {
    if (input.shape.size() != 4)
      return error(StatusCode::kInvalidArgument, source_.path.string(), ": device input ", ir::shape_to_string(input.shape),
                   " is not [N, 3, h, w]");
    return runner_for(input.shape[2], input.shape[3]);
  }

  // The engine for an h x w input: its first, compiled now, or the tuned one once built.
  Result<std::shared_ptr<Runner>> runner_for(int64_t h, int64_t w) {
    std::lock_guard<std::mutex> lock(mu_);
    SizeEngines& e = sizes_[{h, w}];
    if (!e.current) {
      e.tuned = !quick_first_;
      KILN_ASSIGN_OR_RETURN(e.current, compile_size({h, w}, /*tuned=*/e.tuned));
    }
    if (++e.runs >= kTunedAfterRuns && !e.tuned) {
      e.tuned = true;
      queue_.push_back({h, w});
      if (!tuner_running_) {
        if (tuner_.joinable()) tuner_.join();  // it has left its loop
        tuner_running_ = true;
        tuner_ = std::thread([this] { tune_queued(); });
      }
    }
    return e.current;
  }

  // The model with h x w bound, compiled: tuned (through the timing cache), or without
  // runtime-compiled kernels.
  Result<std::shared_ptr<Runner>> compile_size(Size size, bool tuned) const {
    engine::BuildOptions options;
    options.cancel = &stopping_;
    options.weights = weights_;
    options.device = device_;
    options.precision = precision_;
    options.height = size.first;
    options.width = size.second;
    options.verify = false;  // each size is the model with its own dims bound, nothing more
    options.runtime_compiled_kernels = tuned;
    auto compiled = engine::compile(source_, options);
    if (!compiled.ok())
      return error(compiled.status().code(), source_.path.string(), " at ", size.first, "x", size.second, ": ",
                   compiled.status().message());
    if (!compiled->cuda) return error(StatusCode::kUnsupported, source_.path.string(), ": no CUDA engine was built");
    return std::shared_ptr<Runner>(std::make_shared<CudaRunner>(std::move(compiled->cuda), device_.index));
  }

  // The tuner thread: each queued size's tuned engine built and run twice on zeros (its
  // kernels loaded and its CUDA graph captured away from the caller), then put in place. A
  // size whose tuned engine fails keeps its first one, which computes the same model.
  void tune_queued() {
    for (;;) {
      Size size;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty() || stopping_) {
          tuner_running_ = false;
          return;
        }
        size = queue_.front();
        queue_.pop_front();
      }
      if (select_device(device_.index).ok()) {
        auto tuned = compile_size(size, /*tuned=*/true);
        const std::vector<ir::Tensor> zeros = {ir::Tensor(ir::DType::kFloat32, {1, 3, size.first, size.second})};
        for (int i = 0; i < 2 && tuned.ok(); ++i)
          if (auto ran = (*tuned)->run(zeros); !ran.ok()) tuned = ran.status();
        if (tuned.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          put_in_place(size, std::move(*tuned));
        }
      }
    }
  }

  // The tuned engine as the size's current one (mu_ held).
  void put_in_place(Size size, std::shared_ptr<Runner> tuned) {
    SizeEngines& e = sizes_[size];
    if (e.current) e.replaced = std::move(e.current);
    e.current = std::move(tuned);
  }

  const engine::SourceModel source_;  // the model file, read once
  Precision precision_;
  Device device_;
  const bool quick_first_;  // a size's first engine planned without runtime-compiled kernels
  // Every size's engines share one device copy of the weights.
  const std::shared_ptr<cuda::WeightStore> weights_ = std::make_shared<cuda::WeightStore>();
  std::mutex mu_;
  std::map<Size, SizeEngines> sizes_;
  std::deque<Size> queue_;  // sizes waiting for their tuned engine
  bool tuner_running_ = false;
  std::atomic<bool> stopping_ = false;
  std::thread tuner_;  // joined by the destructor
};

}  // namespace

Result<std::unique_ptr<Runner>> make_cuda_shapes_runner(std::filesystem::path model, Precision precision,
                                                        Device device) {
  KILN_ASSIGN_OR_RETURN(engine::SourceModel source, engine::read_source_model(model));
  // The GPU's context now, as loading a static model's engine creates it: not inside the
  // first predict, nor inside a video reader's open (120-150 ms on an H100).
  KILN_RETURN_IF_ERROR(select_device(device.index));
  if (cudaError_t e = cudaFree(nullptr); e != cudaSuccess)
    return error(StatusCode::kNotFound, device.to_string(), ": ", cudaGetErrorString(e));
  return std::unique_ptr<Runner>(std::make_unique<CudaShapesRunner>(std::move(source), precision, device));
}

Result<std::unique_ptr<Runner>> make_cuda_runner(const std::filesystem::path& path, const engine::Engine& file,
                                                 std::shared_ptr<engine::CudaEngines> built, int device_index) {
  KILN_RETURN_IF_ERROR(select_device(device_index));
  if (!built) {
    KILN_ASSIGN_OR_RETURN(built, engine::load_cuda_engines(path, file));
  }
  return std::unique_ptr<Runner>(std::make_unique<CudaRunner>(std::move(built), device_index));
}

std::string cuda_unavailable_reason() { return cuda::gpu_available() ? "" : "no CUDA device found"; }

#else

Result<std::unique_ptr<Runner>> make_cuda_shapes_runner(std::filesystem::path, Precision, Device) {
  return error(StatusCode::kUnsupported, cuda_unavailable_reason());
}

Result<std::unique_ptr<Runner>> make_cuda_runner(const std::filesystem::path&, const engine::Engine&,
                                                 std::shared_ptr<engine::CudaEngines>, int) {
  return error(StatusCode::kUnsupported, cuda_unavailable_reason());
}

std::string cuda_unavailable_reason() { return "kiln was built without CUDA"; }

#endif

}  // namespace kiln::api
