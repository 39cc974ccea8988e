#include "api/gpu_predict.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "vision_cuda/buffers.h"
#include "vision_cuda/classify_crop_gpu.h"
#include "vision_cuda/decode_gpu.h"
#include "vision_cuda/letterbox_gpu.h"

namespace kiln::api {

namespace {

using vision_cuda::cuda_check;

struct Event {
  cudaEvent_t e = nullptr;
  ~Event() { cudaEventDestroy(e); }
};

class GpuPredictor : public DevicePredictor {
 public:
  GpuPredictor(cuda::BatchContext& context, int device) : context_(context), device_(device) {}
  ~GpuPredictor() override { cudaStreamDestroy(stream_); }

  Status init() {
    KILN_RETURN_IF_ERROR(cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "predict stream"));
    for (Event& e : events_) KILN_RETURN_IF_ERROR(cuda_check(cudaEventCreate(&e.e), "predict event"));
    KILN_RETURN_IF_ERROR(cuda_check(cudaEventCreateWithFlags(&frame_ready_.e, cudaEventDisableTiming), "frame event"));
    return Status::Ok();
  }

  Result<std::vector<Prediction>> predict(const ModelInfo& info, const std::string& name, bool end2end,
                                          std::span<const ImageView> images, const PredictOptions& o) override {
    return predict_chunks(info, name, end2end, images.size(), o, [&](size_t first, size_t n) {
      KILN_RETURN_IF_ERROR(upload(images.subspan(first, n)));
      return write_sources(info, name);
    });
  }

  Result<std::vector<Prediction>> predict_frames(const ModelInfo& info, const std::string& name, bool end2end,
                                                 std::span<const Frame> frames, const PredictOptions& o) override {
    KILN_RETURN_IF_ERROR(check_memory(frames));
    return predict_chunks(info, name, end2end, frames.size(), o, [&](size_t first, size_t n) {
      sources_.clear();
      for (const Frame& f : frames.subspan(first, n)) {
        vision_cuda::SourceImage pixels{{f.planes[0], f.planes[1]}, {f.pitch[0], f.pitch[1]}, f.format};
        sources_.push_back({pixels, f.width, f.height, static_cast<cudaStream_t>(f.stream), true});
      }
      return write_sources(info, name);
    });
  }

  Result<std::vector<Prediction>> predict_input(const ModelInfo& info, const std::string& name, bool end2end,
                                                const DeviceInput& input, const PredictOptions& o) override {
    KILN_RETURN_IF_ERROR(check_input_size(name, input));
    const int ih = static_cast<int>(input.shape[2]), iw = static_cast<int>(input.shape[3]);
    return predict_chunks(info, name, end2end, static_cast<size_t>(input.shape[0]), o, [&](size_t first, size_t n) {
      KILN_RETURN_IF_ERROR(fill(input, first, n));
      sizes_.assign(n, {ih, iw});  // coordinates in the input's pixels
      return Status::Ok();
    });
  }

  Result<std::vector<Tensor>> run_input(const DeviceInput& input) override {
    KILN_RETURN_IF_ERROR(cuda_check(cudaSetDevice(device_), "cuda:" + std::to_string(device_)));
    KILN_RETURN_IF_ERROR(check_input_size("run", input));
    const int64_t batch = context_.input_dims(0)[0], n = input.shape[0];
    if (n > batch) return error(StatusCode::kInternal, "run: ", n, " inputs for an engine of batch ", batch);
    KILN_RETURN_IF_ERROR(fill(input, 0, static_cast<size_t>(n)));
    KILN_RETURN_IF_ERROR(pad_batch(static_cast<size_t>(n)));
    KILN_RETURN_IF_ERROR(context_.enqueue(stream_));
    std::vector<Tensor> out(context_.num_outputs());
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].shape = context_.output_dims(i);
      if (!out[i].shape.empty() && out[i].shape[0] == batch) out[i].shape[0] = n;  // the padding rows' outputs dropped
      out[i].data.resize(static_cast<size_t>(ir::shape_numel(out[i].shape)));
      KILN_RETURN_IF_ERROR(cuda_check(cudaMemcpyAsync(out[i].data.data(), context_.output(i), out[i].data.size() * sizeof(float),
                                                      cudaMemcpyDeviceToHost, stream_),
                                      "run outputs"));
    }
    KILN_RETURN_IF_ERROR(cuda_check(cudaStreamSynchronize(stream_), "run"));
    return out;
  }

  Status check_memory(std::span<const Frame> frames) const override { return check_frame_memory(frames, device_); }

 private:
  // One image or frame as the letterbox kernel reads it; `caller_stream`: launched on
  // `stream` (the frame's), else on ours.
  struct Source {
    vision_cuda::SourceImage pixels;
    int width = 0, height = 0;
    cudaStream_t stream = nullptr;
    bool caller_stream = false;
  };

  // `count` inputs, at most the engine's batch per inference; `prepare(first, n)` writes
  // inputs first .. first + n - 1 into the engine's input and sets sizes_.
  template <typename Prepare>
  Result<std::vector<Prediction>> predict_chunks(const ModelInfo& info, const std::string& name, bool end2end, size_t count,
                                                 const PredictOptions& o, Prepare prepare) {
    KILN_RETURN_IF_ERROR(cuda_check(cudaSetDevice(device_), "cuda:" + std::to_string(device_)));
    const std::vector<int64_t>& in = context_.input_dims(0);
    if (in.size() != 4 || in[1] != 3)
      return error(StatusCode::kUnsupported, name, ": input ", ir::shape_to_string(in), " is not [batch, 3, h, w]");
    std::vector<Prediction> out;
    out.reserve(count);
    const size_t batch = static_cast<size_t>(in[0]);
    for (size_t first = 0; first < count; first += batch) {
      KILN_RETURN_IF_ERROR(cuda_check(cudaEventRecord(events_[0].e, stream_), "event"));
      KILN_RETURN_IF_ERROR(prepare(first, std::min(batch, count - first)));
      KILN_RETURN_IF_ERROR(chunk(info, name, end2end, o, out));
    }
    return out;
  }

  // A device input's [N, 3, H, W] against this engine's input.
  Status check_input_size(const std::string& name, const DeviceInput& input) const {
    const std::vector<int64_t>& in = context_.input_dims(0);
    if (input.shape.size() != 4 || input.shape[0] < 1 || in.size() != 4 ||
        !std::equal(input.shape.begin() + 1, input.shape.end(), in.begin() + 1))
      return error(StatusCode::kInvalidArgument, name, ": device input ", ir::shape_to_string(input.shape),
                   " does not fit the engine's input ", ir::shape_to_string(in));
    return Status::Ok();
  }

  // The caller's fill of inputs first .. first + n - 1, ordered after its `ready` stream.
  Status fill(const DeviceInput& input, size_t first, size_t n) {
    KILN_RETURN_IF_ERROR(cuda_check(cudaEventRecord(frame_ready_.e, static_cast<cudaStream_t>(input.ready)), "input event"));
    KILN_RETURN_IF_ERROR(cuda_check(cudaStreamWaitEvent(stream_, frame_ready_.e, 0), "input event"));
    return input.fill(context_.input(0), first, n, stream_);
  }

  // Zeros in the slots of a partial batch (their outputs are ignored).
  Status pad_batch(size_t n) {
    const std::vector<int64_t>& in = context_.input_dims(0);
    const size_t batch = static_cast<size_t>(in[0]), per_image = static_cast<size_t>(in[1] * in[2] * in[3]);
    if (n >= batch) return Status::Ok();
    return cuda_check(cudaMemsetAsync(context_.input(0) + n * per_image, 0, (batch - n) * per_image * sizeof(float), stream_),
                      "input padding");
  }

  // sources_ letterboxed (classifiers: cropped) into the engine's input, sizes_ set.
  Status write_sources(const ModelInfo& info, const std::string& name) {
    const std::vector<int64_t>& in = context_.input_dims(0);
    const int ih = static_cast<int>(in[2]), iw = static_cast<int>(in[3]);
    const size_t per_image = static_cast<size_t>(3) * ih * iw;
    float* input = context_.input(0);
    const bool classify = info.task == "classify";
    if (classify) {  // one scratch for every image's crop, reserved before any kernel uses it
      size_t scratch = 0;
      for (const Source& s : sources_)
        scratch = std::max(scratch, vision_cuda::classify_crop_scratch_bytes(
                                        vision_cuda::classify_crop_layout(s.width, s.height, ih)));
      KILN_RETURN_IF_ERROR(crop_scratch_.reserve(scratch));
    }
    sizes_.clear();
    for (size_t i = 0; i < sources_.size(); ++i) {
      const Source& s = sources_[i];
      sizes_.emplace_back(s.height, s.width);
      if (classify) {  // resize the short side + center crop (vision::classify_crop); images only
        const vision_cuda::CropLayout layout = vision_cuda::classify_crop_layout(s.width, s.height, ih);
        KILN_RETURN_IF_ERROR(vision_cuda::classify_crop(s.pixels.planes[0], s.pixels.format == PixelFormat::kRgb, layout,
                                                        crop_scratch_.as<uint8_t>(), input + i * per_image, stream_));
        continue;
      }
      // Dynamic-size models: minimal stride padding within the input size bound, which
      // the caller picked this engine's size by.
      const int stride = info.dynamic_input ? info.stride : 0;
      const vision_cuda::LetterboxLayout layout = vision_cuda::letterbox_layout(
          s.width, s.height, stride ? info.imgsz_h : ih, stride ? info.imgsz_w : iw, stride);
      if (layout.height != ih || layout.width != iw)
        return error(StatusCode::kInternal, name, ": image letterboxed to ", layout.height, "x", layout.width,
                     " for an engine input of ", ih, "x", iw);
      KILN_RETURN_IF_ERROR(vision_cuda::letterbox(s.pixels, layout, input + i * per_image, s.stream));
      if (s.caller_stream) {  // the rest of this call runs on ours, after the frame's kernel
        KILN_RETURN_IF_ERROR(cuda_check(cudaEventRecord(frame_ready_.e, s.stream), "frame event"));
        KILN_RETURN_IF_ERROR(cuda_check(cudaStreamWaitEvent(stream_, frame_ready_.e, 0), "frame event"));
      }
    }
    return Status::Ok();
  }

  Status bad_output(const ModelInfo& info, const std::string& name, const std::vector<int64_t>& dims,
                    const std::string& want) const {
    return error(StatusCode::kUnsupported, name, ": ", info.task, " output ", ir::shape_to_string(dims), " is not ", want);
  }

  // Image i's pixels reach the device (at offsets_[i] in device_images_): straight from
  // pinned memory, else through the pinned staging buffer; sources_ describe them there.
  Status upload(std::span<const ImageView> images) {
    size_t total = 0, pageable = 0;
    offsets_.clear();
    pinned_.assign(images.size(), false);
    for (size_t i = 0; i < images.size(); ++i) {
      const size_t bytes = static_cast<size_t>(images[i].width) * images[i].height * 3;
      offsets_.push_back(total);
      total += bytes;
      cudaPointerAttributes attr{};
      pinned_[i] = cudaPointerGetAttributes(&attr, images[i].pixels) == cudaSuccess && attr.type == cudaMemoryTypeHost;
      if (!pinned_[i]) pageable += bytes;
    }
    cudaGetLastError();
    KILN_RETURN_IF_ERROR(device_images_.reserve(total));
    KILN_RETURN_IF_ERROR(staging_.reserve(pageable));
    size_t staged = 0;
    for (size_t i = 0; i < images.size(); ++i) {
      const size_t bytes = static_cast<size_t>(images[i].width) * images[i].height * 3;
      const uint8_t* from = images[i].pixels;
      if (!pinned_[i]) {
        std::memcpy(staging_.as<uint8_t>() + staged, from, bytes);
        from = staging_.as<uint8_t>() + staged;
        staged += bytes;
      }
      KILN_RETURN_IF_ERROR(cuda_check(
          cudaMemcpyAsync(device_images_.as<uint8_t>() + offsets_[i], from, bytes, cudaMemcpyHostToDevice, stream_),
          "image upload"));
    }
    sources_.clear();
    for (size_t i = 0; i < images.size(); ++i) {
      vision_cuda::SourceImage pixels{{device_images_.as<uint8_t>() + offsets_[i], nullptr},
                                      {static_cast<size_t>(images[i].width) * 3, 0},
                                      images[i].rgb ? PixelFormat::kRgb : PixelFormat::kBgr};
      sources_.push_back({pixels, images[i].width, images[i].height, stream_, false});
    }
    return Status::Ok();
  }

  Result<vision_cuda::RawLayout> raw_layout(const ModelInfo& info, const std::string& name, bool end2end) const {
    vision_cuda::RawLayout l;
    const std::vector<int64_t>& d = context_.output_dims(0);
    if (d.size() != 3) return bad_output(info, name, d, "[batch, channels, anchors]");
    l.batch = static_cast<int>(d[0]);
    l.end2end = end2end;
    l.anchors = static_cast<int>(end2end ? d[1] : d[2]);
    l.channels = static_cast<int>(end2end ? d[2] : d[1]);
    int extra = 0;
    if (info.task == "segment") {
      l.task = vision_cuda::Task::kSegment;
      if (context_.num_outputs() < 2 || context_.output_dims(1).size() != 4)
        return bad_output(info, name, d, "followed by [batch, masks, h, w] prototypes");
      extra = static_cast<int>(context_.output_dims(1)[1]);
    } else if (info.task == "pose") {
      l.task = vision_cuda::Task::kPose;
      if (info.kpt_shape.size() != 2) return error(StatusCode::kUnsupported, name, ": pose model without kpt_shape");
      l.keypoints = static_cast<int>(info.kpt_shape[0]), l.keypoint_dim = static_cast<int>(info.kpt_shape[1]);
      if (l.keypoint_dim != 2 && l.keypoint_dim != 3) return bad_output(info, name, d, "[batch, 4+classes+keypoints, anchors]");
      extra = l.keypoints * l.keypoint_dim;
    } else if (info.task == "obb") {
      l.task = vision_cuda::Task::kObb;
      extra = 1;
    }
    l.classes = end2end ? std::max<int>(static_cast<int>(info.names.size()), 1) : l.channels - 4 - extra;
    const int need = end2end ? 6 + (l.task == vision_cuda::Task::kObb ? 1 : extra) : 5 + extra;
    if (l.channels < need || l.classes < 1)
      return bad_output(info, name, d, end2end ? "[batch, detections, 6+extra]" : "[batch, 4+classes+extra, anchors]");
    return l;
  }

  // Inference over the input prepare() wrote, sizes_ of it (events_[0] already recorded).
  Status chunk(const ModelInfo& info, const std::string& name, bool end2end, const PredictOptions& o,
               std::vector<Prediction>& out) {
    const std::vector<int64_t>& in = context_.input_dims(0);
    const int batch = static_cast<int>(in[0]), ih = static_cast<int>(in[2]), iw = static_cast<int>(in[3]);
    const size_t n = sizes_.size();
    const bool classify = info.task == "classify";
    KILN_RETURN_IF_ERROR(pad_batch(n));
    KILN_RETURN_IF_ERROR(cuda_check(cudaEventRecord(events_[1].e, stream_), "event"));
    KILN_RETURN_IF_ERROR(context_.enqueue(stream_));
    KILN_RETURN_IF_ERROR(cuda_check(cudaEventRecord(events_[2].e, stream_), "event"));

    std::vector<Prediction> preds(n);
    std::vector<vision_cuda::ImageGeometry> geometry;
    vision_cuda::RawLayout layout;
    const float* raw = context_.output(0);
    if (classify) {
      const std::vector<int64_t>& d = context_.output_dims(0);
      if (d.size() != 2) return bad_output(info, name, d, "[batch, classes]");
      KILN_RETURN_IF_ERROR(ensure_decoder({vision_cuda::Task::kDetect, batch, false, 0, 1, 0, 0, 0}, o.max_det));
      KILN_RETURN_IF_ERROR(decoder_->enqueue_top5(raw, static_cast<int>(n), static_cast<int>(d[1]), stream_));
    } else {
      KILN_ASSIGN_OR_RETURN(layout, raw_layout(info, name, end2end));
      for (const auto& [h, w] : sizes_) geometry.push_back(vision_cuda::image_geometry(ih, iw, h, w));
      KILN_RETURN_IF_ERROR(ensure_decoder(layout, o.max_det));
      KILN_RETURN_IF_ERROR(decoder_->enqueue(raw, layout, nms_options(o), geometry, stream_));
    }
    KILN_RETURN_IF_ERROR(cuda_check(cudaEventRecord(events_[3].e, stream_), "event"));
    KILN_RETURN_IF_ERROR(cuda_check(cudaStreamSynchronize(stream_), "predict"));

    float pre = 0, infer = 0, post = 0;
    cudaEventElapsedTime(&pre, events_[0].e, events_[1].e);
    cudaEventElapsedTime(&infer, events_[1].e, events_[2].e);
    cudaEventElapsedTime(&post, events_[2].e, events_[3].e);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) {
      Prediction& p = preds[i];
      p.input_width = iw, p.input_height = ih;
      if (classify) {
        const vision_cuda::GpuClassScore* top = decoder_->top5(static_cast<int>(i));
        const int k = std::min<int>(5, static_cast<int>(context_.output_dims(0)[1]));
        for (int j = 0; j < k; ++j) p.top5.push_back({top[j].class_id, top[j].score});
        continue;
      }
      KILN_RETURN_IF_ERROR(collect(layout, static_cast<int>(i), geometry[i], p));
    }
    const double host_post = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (Prediction& p : preds) {
      p.speed.preprocess_ms = pre / n;
      p.speed.inference_ms = infer / n;
      p.speed.postprocess_ms = (post + host_post) / n;
      out.push_back(std::move(p));
    }
    return Status::Ok();
  }

  Status ensure_decoder(const vision_cuda::RawLayout& l, int max_det) {
    if (decoder_ && decoder_max_det_ >= max_det && same_capacity(l)) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(decoder_, vision_cuda::Decoder::create(l, std::max(max_det, 300)));
    decoder_layout_ = l;
    decoder_max_det_ = std::max(max_det, 300);
    return Status::Ok();
  }
  bool same_capacity(const vision_cuda::RawLayout& l) const {
    return l.batch <= decoder_layout_.batch && l.anchors <= decoder_layout_.anchors &&
           l.keypoints <= decoder_layout_.keypoints && (l.task == vision_cuda::Task::kObb) == (decoder_layout_.task == vision_cuda::Task::kObb) &&
           l.end2end == decoder_layout_.end2end;
  }

  // Image i's kept items into `p` (segment: its masks computed now, one more sync).
  Status collect(const vision_cuda::RawLayout& l, int i, const vision_cuda::ImageGeometry& g, Prediction& p) {
    const int count = decoder_->count(i);
    const vision_cuda::GpuDetection* dets = decoder_->detections(i);
    if (l.task == vision_cuda::Task::kObb) {
      for (int k = 0; k < count; ++k)
        p.obb.push_back({dets[k].class_id, dets[k].score, dets[k].box[0], dets[k].box[1], dets[k].box[2], dets[k].box[3],
                         dets[k].box[4]});
      return Status::Ok();
    }
    if (l.task == vision_cuda::Task::kSegment && count > 0) {
      const std::vector<int64_t>& pd = context_.output_dims(1);
      const size_t plane = static_cast<size_t>(pd[1]) * pd[2] * pd[3];
      KILN_RETURN_IF_ERROR(decoder_->enqueue_masks(context_.output(0), l, i, context_.output(1) + i * plane,
                                                   static_cast<int>(pd[1]), static_cast<int>(pd[2]),
                                                   static_cast<int>(pd[3]), g, stream_));
      KILN_RETURN_IF_ERROR(cuda_check(cudaStreamSynchronize(stream_), "masks"));
    }
    const float* kps = decoder_->keypoints(i);
    const size_t mask_bytes = static_cast<size_t>(g.orig_width) * g.orig_height;
    for (int k = 0; k < count; ++k) {
      const vision_cuda::GpuDetection& d = dets[k];
      if (l.task == vision_cuda::Task::kSegment) {
        if (decoder_->mask_areas()[k] == 0) continue;  // the predictor keeps only detections with a mask
        const uint8_t* m = decoder_->masks() + k * mask_bytes;
        p.masks.push_back({g.orig_width, g.orig_height, std::vector<uint8_t>(m, m + mask_bytes)});
      }
      p.boxes.push_back({d.class_id, d.score, {d.box[0], d.box[1], d.box[2], d.box[3]}});
      if (l.task == vision_cuda::Task::kPose) {
        Keypoints kp;
        const float* v = kps + static_cast<size_t>(k) * l.keypoints * 3;
        for (int j = 0; j < l.keypoints; ++j) kp.points.push_back({v[3 * j], v[3 * j + 1], v[3 * j + 2]});
        p.keypoints.push_back(std::move(kp));
      }
    }
    return Status::Ok();
  }

  cuda::BatchContext& context_;
  int device_;
  cudaStream_t stream_ = nullptr;
  Event events_[4];
  Event frame_ready_;             // a device frame's kernel done on the caller's stream
  vision_cuda::PinnedBuffer staging_;
  vision_cuda::DeviceBuffer device_images_, crop_scratch_;
  std::vector<size_t> offsets_;  // upload(): kept between calls so the hot path does not allocate
  std::vector<bool> pinned_;
  std::vector<Source> sources_;  // the images or frames of the current chunk
  std::vector<std::pair<int, int>> sizes_;  // the current chunk's originals: height, width
  std::unique_ptr<vision_cuda::Decoder> decoder_;
  vision_cuda::RawLayout decoder_layout_;
  int decoder_max_det_ = 0;
};

}  // namespace

PlaneMemory plane_memory(const void* plane) {
  cudaPointerAttributes attr{};
  const bool known = cudaPointerGetAttributes(&attr, plane) == cudaSuccess;
  cudaGetLastError();
  const bool managed = known && attr.type == cudaMemoryTypeManaged;
  return {known && (attr.type == cudaMemoryTypeDevice || managed), managed, attr.device};
}

Status check_frame_memory(std::span<const Frame> frames, int model_device) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    const bool says_device = f.memory == FrameMemory::kDevice;
    for (int p = 0; p < (f.format == PixelFormat::kNv12 ? 2 : 1); ++p) {
      const PlaneMemory m = plane_memory(f.planes[p]);
      if (says_device && !m.device)
        return error(StatusCode::kInvalidArgument, "frame ", i, ": plane ", p, " is not device memory (the frame says device)");
      if (says_device && m.gpu != model_device)
        return error(StatusCode::kInvalidArgument, "frame ", i, ": plane ", p, " is on cuda:", m.gpu,
                     ", the model on cuda:", model_device);
      if (!says_device && m.device && !m.managed)
        return error(StatusCode::kInvalidArgument, "frame ", i, ": plane ", p, " is device memory (the frame says host)");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<DevicePredictor>> make_gpu_predictor(cuda::BatchContext& context, int device) {
  auto p = std::make_unique<GpuPredictor>(context, device);
  KILN_RETURN_IF_ERROR(p->init());
  return std::unique_ptr<DevicePredictor>(std::move(p));
}

}  // namespace kiln::api
