// MaxPool, NHWC (2-D pooling; ceil_mode 0).
#include <cfloat>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void maxpool_kernel(const T* __restrict__ in, T* __restrict__ out, PoolShape s) {
  const int64_t total = s.n * s.oh * s.ow * s.c;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % s.c;
    const int64_t ox = (i / s.c) % s.ow;
    const int64_t oy = (i / (s.c * s.ow)) % s.oh;
    const int64_t n = i / (s.c * s.ow * s.oh);
    float m = -FLT_MAX;
    for (int64_t ky = 0; ky < s.kh; ++ky) {
      const int64_t y = oy * s.sh - s.ph + ky * s.dh;
      if (y < 0 || y >= s.h) continue;
      for (int64_t kx = 0; kx < s.kw; ++kx) {
        const int64_t x = ox * s.sw - s.pw + kx * s.dw;
        if (x < 0 || x >= s.w) continue;
        m = fmaxf(m, to_float(in[((n * s.h + y) * s.w + x) * s.c + c]));
      }
    }
    out[i] = from_float<T>(m);
  }
}

class MaxPoolStep : public Step {
 public:
  int in = 0, out = 0;
  PoolShape shape{};
  ir::DType type{};
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    Status s = launch_maxpool_nhwc(st.ptr[in], st.ptr[out], type, shape, stream);
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

}  // namespace

Status launch_maxpool_nhwc(const void* in, void* out, ir::DType type, const PoolShape& s, cudaStream_t stream) {
  const int64_t total = s.n * s.oh * s.ow * s.c;
  if (total == 0) return Status::Ok();
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    maxpool_kernel<T><<<grid_for(total), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), s);
  });
  if (!ok) return error(StatusCode::kUnsupported, "maxpool: dtype ", ir::dtype_name(type));
  return launch_status("maxpool");
}

Status plan_maxpool(PlanBuilder& b, const ir::Node& node) {
  if (node.attr_int("ceil_mode", 0) != 0) return error(StatusCode::kUnsupported, "ceil_mode=1");
  if (node.attr_string("auto_pad", "NOTSET") != "NOTSET") return error(StatusCode::kUnsupported, "auto_pad");
  if (node.outputs.size() > 1 && node.outputs[1]) return error(StatusCode::kUnsupported, "Indices output");
  auto step = std::make_unique<MaxPoolStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
  const Slot src = b.slot(step->in);
  const auto k = node.attr_ints("kernel_shape");
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto pads = node.attr_ints("pads", {0, 0, 0, 0});
  const auto dil = node.attr_ints("dilations", {1, 1});
  if (k.size() != 2 || strides.size() != 2 || pads.size() != 4 || dil.size() != 2)
    return error(StatusCode::kUnsupported, "only 2-D pooling");
  PoolShape& s = step->shape;
  s = {src.dims[0], src.dims[2], src.dims[3], src.dims[1], 0, 0, k[0], k[1], strides[0], strides[1],
       pads[0], pads[1], dil[0], dil[1]};
  s.oh = (s.h + pads[0] + pads[2] - dil[0] * (k[0] - 1) - 1) / strides[0] + 1;
  s.ow = (s.w + pads[1] + pads[3] - dil[1] * (k[1] - 1) - 1) / strides[1] + 1;
  step->out = b.define(node.outputs[0], {s.n, s.c, s.oh, s.ow}, Layout::kNHWC);
  step->type = src.dtype;
  step->name = node.name;
  step->tactic = "maxpool_nhwc";
  step->reads = {step->in};
  step->writes = {step->out};
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
