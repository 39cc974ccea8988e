// Sigmoid, SiLU, Relu, Cos, Sin: elementwise, any layout (the output takes the input's
// layout). Cos/Sin (the OBB head's angle) use the accurate cosf/sinf, not the fast intrinsics.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* __restrict__ in, T* __restrict__ out, int64_t n) {
  begin_kernel();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float x = to_float(in[i]);
    float y;
    switch (op) {
      case UnaryOp::kSigmoid: y = sigmoid(x); break;
      case UnaryOp::kSiLU: y = silu(x); break;
      case UnaryOp::kCos: y = cosf(x); break;
      case UnaryOp::kSin: y = sinf(x); break;
      default: y = x > 0.f ? x : 0.f; break;
    }
    out[i] = from_float<T>(y);
  }
}

class UnaryStep : public Step {
 public:
  UnaryOp op{};
  int in = 0, out = 0;
  int64_t n = 0;
  ir::DType type{};
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    Status s = launch_unary(op, st.ptr[in], st.ptr[out], type, n, stream);
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

}  // namespace

Status launch_unary(UnaryOp op, const void* in, void* out, ir::DType type, int64_t n, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    launch_kernel(unary_kernel<T>, grid_for(n), kThreads, 0, stream, op, static_cast<const T*>(in),
                  static_cast<T*>(out), n);
  });
  if (!ok) return error(StatusCode::kUnsupported, "unary: dtype ", ir::dtype_name(type));
  return launch_status("unary");
}

Status plan_unary(PlanBuilder& b, const ir::Node& node) {
  auto step = std::make_unique<UnaryStep>();
  if (node.op_type == "Sigmoid") step->op = UnaryOp::kSigmoid;
  else if (node.op_type == "SiLU") step->op = UnaryOp::kSiLU;
  else if (node.op_type == "Cos") step->op = UnaryOp::kCos;
  else if (node.op_type == "Sin") step->op = UnaryOp::kSin;
  else step->op = UnaryOp::kRelu;
  KILN_ASSIGN_OR_RETURN(step->in, b.input_any_layout(node, 0));
  const Slot in = b.slot(step->in);
  step->out = b.define(node.outputs[0], in.dims, in.layout);
  step->n = in.numel();
  step->type = in.dtype;
  step->describe(node, "unary", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
