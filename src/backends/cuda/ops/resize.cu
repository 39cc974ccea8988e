// Resize, mode nearest, asymmetric coordinates, floor rounding (what Ultralytics' Upsample
// exports), NHWC.
#include <cmath>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

// T is the element type, or uint4 when channels are moved 16 bytes at a time (c counts
// T units). Pure copy: no arithmetic on the values.
template <typename T>
__global__ void resize_nearest_kernel(const T* __restrict__ in, T* __restrict__ out, int n, int h, int w, int c,
                                      int oh, int ow, float sh, float sw) {
  begin_kernel();
  const int64_t total = int64_t(n) * oh * ow * c;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int ch = static_cast<int>(i % c);
    const int64_t pix = i / c;
    const int ox = static_cast<int>(pix % ow);
    const int64_t row = pix / ow;
    const int oy = static_cast<int>(row % oh);
    const int64_t b = row / oh;
    const int y = min(static_cast<int>(floorf(oy / sh)), h - 1);
    const int x = min(static_cast<int>(floorf(ox / sw)), w - 1);
    out[i] = in[((b * h + y) * w + x) * c + ch];
  }
}

class ResizeStep : public Step {
 public:
  int in = 0, out = 0;
  int64_t n = 0, h = 0, w = 0, c = 0, oh = 0, ow = 0;
  float sh = 1, sw = 1;
  ir::DType type{};
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    Status s = launch_resize_nearest_nhwc(st.ptr[in], st.ptr[out], type, n, h, w, c, oh, ow, sh, sw, stream);
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

}  // namespace

Status launch_resize_nearest_nhwc(const void* in, void* out, ir::DType type, int64_t n, int64_t h, int64_t w,
                                  int64_t c, int64_t oh, int64_t ow, float scale_h, float scale_w,
                                  cudaStream_t stream) {
  const int64_t total = n * oh * ow * c;
  if (total == 0) return Status::Ok();
  const size_t row_bytes = static_cast<size_t>(c) * ir::dtype_size(type);
  if (row_bytes % 16 == 0 && reinterpret_cast<uintptr_t>(in) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0) {
    const int64_t words = static_cast<int64_t>(row_bytes / 16);
    launch_kernel(resize_nearest_kernel<uint4>, grid_for(total / c * words), kThreads, 0, stream,
                  static_cast<const uint4*>(in), static_cast<uint4*>(out), n, h, w, words, oh, ow, scale_h, scale_w);
    return launch_status("resize_nearest");
  }
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    launch_kernel(resize_nearest_kernel<T>, grid_for(total), kThreads, 0, stream, static_cast<const T*>(in),
                  static_cast<T*>(out), n, h, w, c, oh, ow, scale_h, scale_w);
  });
  if (!ok) return error(StatusCode::kUnsupported, "resize: dtype ", ir::dtype_name(type));
  return launch_status("resize_nearest");
}

Status plan_resize(PlanBuilder& b, const ir::Node& node) {
  if (node.attr_string("mode", "nearest") != "nearest")
    return error(StatusCode::kUnsupported, "mode ", node.attr_string("mode", ""));
  if (node.attr_string("coordinate_transformation_mode", "half_pixel") != "asymmetric" ||
      node.attr_string("nearest_mode", "round_prefer_floor") != "floor")
    return error(StatusCode::kUnsupported, "only asymmetric coordinates with floor rounding");
  auto step = std::make_unique<ResizeStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
  const Slot src = b.slot(step->in);
  if (src.dims.size() != 4) return error(StatusCode::kUnsupported, "rank ", src.dims.size());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> out_dims, b.dims_of(node, node.outputs[0]));
  if (out_dims.size() != 4 || out_dims[0] != src.dims[0] || out_dims[1] != src.dims[1])
    return error(StatusCode::kUnsupported, "resize of batch or channel dims");
  step->n = src.dims[0];
  step->c = src.dims[1];
  step->h = src.dims[2];
  step->w = src.dims[3];
  step->oh = out_dims[2];
  step->ow = out_dims[3];
  // Scales as given (they define the coordinate mapping); else the size ratio.
  const ir::Tensor* scales = b.constant_input(node, 2);
  if (scales && scales->numel() == 4) {
    ir::Tensor f = scales->to_float32();
    step->sh = f.data<float>()[2];
    step->sw = f.data<float>()[3];
  } else {
    step->sh = static_cast<float>(step->oh) / static_cast<float>(step->h);
    step->sw = static_cast<float>(step->ow) / static_cast<float>(step->w);
  }
  step->out = b.define(node.outputs[0], out_dims, Layout::kNHWC);
  step->type = src.dtype;
  step->describe(node, "resize_nearest_nhwc", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
