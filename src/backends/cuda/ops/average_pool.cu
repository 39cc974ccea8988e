// AveragePool, NHWC, 2-D: kernel_shape, strides, pads, count_include_pad, ceil_mode (a last
// window starting past the input and its leading pad is dropped, as ONNX's reference and
// the CPU kernel do). The divisor counts the in-bounds taps, or with count_include_pad every
// tap inside the padded input. FP32 accumulation.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/pool_geometry.h"
#include "backends/cuda/ops/pool_lanes.cuh"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

struct AvgPoolShape {
  PoolShape p;  // dilations unused (1)
  int64_t pad_bottom = 0, pad_right = 0;
  bool include_pad = false;
};

template <typename T>
__global__ void avgpool_kernel(const T* __restrict__ in, T* __restrict__ out, AvgPoolShape a) {
  begin_kernel();
  const PoolShape& s = a.p;
  const int64_t total = s.n * s.oh * s.ow * s.c;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, oy, ox, c] = nhwc_pos(i, s.oh, s.ow, s.c);
    const int64_t y0 = oy * s.sh - s.ph, x0 = ox * s.sw - s.pw;
    const int64_t y1 = min(y0 + s.kh, s.h + a.pad_bottom), x1 = min(x0 + s.kw, s.w + a.pad_right);
    const int64_t ys = max(y0, int64_t(0)), xs = max(x0, int64_t(0)), ye = min(y1, s.h), xe = min(x1, s.w);
    float sum = 0.f;
    for (int64_t y = ys; y < ye; ++y)
      for (int64_t x = xs; x < xe; ++x) sum += to_float(in[((n * s.h + y) * s.w + x) * s.c + c]);
    const int64_t count = a.include_pad ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
    out[i] = from_float<T>(count > 0 ? sum / static_cast<float>(count) : 0.f);
  }
}

class AvgPoolStep : public Step {
 public:
  int in = 0, out = 0;
  AvgPoolShape shape{};
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const PoolShape& s = shape.p;
    const int64_t total = s.n * s.oh * s.ow * s.c;
    if (total == 0) return Status::Ok();
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      if (const int v = pool_lanes<T>(s, st.ptr[in], st.ptr[out]))
        launch_kernel(pool_lanes_kernel<T, false>, grid_for(total / v), kThreads, 0, stream,
                      static_cast<const uint2*>(st.ptr[in]), static_cast<uint2*>(st.ptr[out]),
                      pool_lanes_args(s, v, shape.pad_bottom, shape.pad_right, shape.include_pad));
      else
        launch_kernel(avgpool_kernel<T>, grid_for(total), kThreads, 0, stream, static_cast<const T*>(st.ptr[in]),
                      static_cast<T*>(st.ptr[out]), shape);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": avgpool");
  }
};

}  // namespace

Status plan_average_pool(PlanBuilder& b, const ir::Node& node) {
  auto step = std::make_unique<AvgPoolStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
  const Slot src = b.slot(step->in);
  KILN_ASSIGN_OR_RETURN(const PoolGeometry g, pool_geometry(node, src.dims));
  if (g.s.dh != 1 || g.s.dw != 1) return error(StatusCode::kUnsupported, "dilated AveragePool");
  const PoolShape& s = step->shape.p = g.s;
  step->shape.pad_bottom = g.pad_bottom;
  step->shape.pad_right = g.pad_right;
  step->shape.include_pad = node.attr_int("count_include_pad", 0) != 0;
  step->out = b.define(node.outputs[0], {s.n, s.c, s.oh, s.ow}, Layout::kNHWC);
  step->type = src.dtype;
  step->describe(node, "avgpool_nhwc", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
