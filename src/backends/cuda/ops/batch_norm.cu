// BatchNormalization, inference form, on either layout: y = x * scale[c] + shift[c], both
// computed once at build time in FP32 (batch_norm_affine.h). Batch norms after a Conv are
// folded by the passes, after a Gemm by plan_gemm; this runs the rest.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/batch_norm_affine.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

// Channel of element i: (i / inner) % channels (inner is 1 for NHWC data).
template <typename T>
__global__ void scale_shift_kernel(const T* __restrict__ in, T* __restrict__ out, const float* __restrict__ a,
                                   const float* __restrict__ b, int64_t n, int64_t channels, int64_t inner) {
  begin_kernel();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (i / inner) % channels;
    out[i] = from_float<T>(to_float(in[i]) * a[c] + b[c]);
  }
}

class ScaleShiftStep : public Step {
 public:
  int in = 0, out = 0;
  const float* a = nullptr;  // device, per channel
  const float* b = nullptr;
  int64_t n = 0, channels = 0, inner = 1;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    if (n == 0) return Status::Ok();
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      launch_kernel(scale_shift_kernel<T>, grid_for(n), kThreads, 0, stream, static_cast<const T*>(st.ptr[in]),
                    static_cast<T*>(st.ptr[out]), a, b, n, channels, inner);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": scale_shift");
  }
};

}  // namespace

Status plan_batch_norm(PlanBuilder& b, const ir::Node& node) {
  auto step = std::make_unique<ScaleShiftStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input_any_layout(node, 0));
  const Slot src = b.slot(step->in);
  if (src.dims.size() < 2) return error(StatusCode::kInvalidArgument, "input must have rank >= 2");
  KILN_ASSIGN_OR_RETURN(const ChannelAffine affine, batch_norm_affine(b, node, src.dims[1]));
  KILN_ASSIGN_OR_RETURN(const void* da, b.upload(affine.scale.data(), affine.scale.size() * 4, node.name + " scale"));
  KILN_ASSIGN_OR_RETURN(const void* db, b.upload(affine.shift.data(), affine.shift.size() * 4, node.name + " shift"));
  step->a = static_cast<const float*>(da);
  step->b = static_cast<const float*>(db);
  step->n = src.numel();
  step->channels = src.dims[1];
  if (src.layout != Layout::kNHWC)
    for (size_t d = 2; d < src.dims.size(); ++d) step->inner *= src.dims[d];
  step->out = b.define(node.outputs[0], src.dims, src.layout);
  step->type = src.dtype;
  step->describe(node, "scale_shift", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
