// QuantizeLinear (float -> int8) and DequantizeLinear (int8 -> float) at an INT8 engine's
// precision boundaries, per tensor or per channel, elementwise in the input's layout (a
// rank-4 QuantizeLinear writes NHWC, the layout QConvInt8 reads). The arithmetic is the CPU
// kernels' (cpu/ops/quantize_util.h): divide, clamp, round half to even, add the zero point;
// (x - zero point) * scale back. Scales and zero points must be constants. A QuantizeLinear
// reads a channel view (a Split's output, an operand placed in its Concat's buffer) where it
// is, so that no copy packs it first.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plan.h"
#include "ir/qconv_int8.h"

namespace kiln::cuda {
namespace {

// Which scale applies to element i: (i / inner) % count; count 1 for one per tensor.
struct QuantParams {
  const float* scale = nullptr;
  const int32_t* zero_point = nullptr;
  int64_t count = 1, inner = 1;
};

__device__ __forceinline__ int64_t param_index(const QuantParams& p, int64_t i) {
  return p.count == 1 ? 0 : (i / p.inner) % p.count;
}

// Where the input's elements are: packed, or an NHWC channel view whose pixels lie
// pixel_stride elements apart (Slot::pixel_stride), `channels` of them each.
struct InputView {
  int64_t channels = 1, pixel_stride = 0;
  __device__ __forceinline__ int64_t at(int64_t i) const {
    return pixel_stride == 0 ? i : i / channels * pixel_stride + i % channels;
  }
};

template <typename T>
__global__ void quantize_kernel(const T* __restrict__ in, InputView view, int8_t* __restrict__ out, QuantParams p,
                                int64_t n) {
  begin_kernel();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = param_index(p, i);
    out[i] = quantize_int8(to_float(in[view.at(i)]), p.scale[c], p.zero_point[c]);
  }
}

// One scale for the tensor, n a multiple of 8, aligned buffers (a view's channels and pixel
// stride multiples of 8 too): each thread 8 elements, one vector load of them and one 8-byte
// store, each quotient by the reciprocal and the division only near a rounding tie
// (requantize_by_reciprocal: the same int8 as quantize_int8's). `view` counts packs; a
// view's are indexed in 32 bits (more take quantize_kernel).
template <typename T>
using Pack8 = Lanes<T, 8>;
struct alignas(8) Int8x8 {
  int8_t v[8];
};

template <typename T>
__global__ void quantize_per_tensor_kernel(const Pack8<T>* __restrict__ in, InputView view, Int8x8* __restrict__ out,
                                           QuantParams p, int64_t packs) {
  begin_kernel();
  const float scale = p.scale[0], inv_scale = 1.f / scale;
  const int32_t zero = p.zero_point[0];
  const uint32_t channels = uint32_t(view.channels), pixel_stride = uint32_t(view.pixel_stride);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < packs; i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t j = uint32_t(i);
    const Pack8<T> x = in[pixel_stride == 0 ? i : int64_t(j / channels) * pixel_stride + j % channels];
    Int8x8 q;
#pragma unroll
    for (int j = 0; j < 8; ++j) q.v[j] = ir::qconv::requantize_by_reciprocal(to_float(x.v[j]), scale, inv_scale, zero);
    out[i] = q;
  }
}

template <typename T>
__global__ void dequantize_kernel(const int8_t* __restrict__ in, T* __restrict__ out, QuantParams p, int64_t n) {
  begin_kernel();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = param_index(p, i);
    out[i] = from_float<T>(float(int32_t(in[i]) - p.zero_point[c]) * p.scale[c]);
  }
}

class QuantStep : public Step {
 public:
  bool quantize = true;
  int in = 0, out = 0;
  int64_t n = 0;
  InputView view;  // of the input, in elements
  ir::DType float_type{};
  QuantParams params;

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    if (n == 0) return Status::Ok();
    dispatch_float(float_type, [&](auto t) {
      using T = decltype(t);
      const bool view8 =
          view.pixel_stride == 0 || (view.channels % 8 == 0 && view.pixel_stride % 8 == 0 && n / 8 <= UINT32_MAX);
      const bool packed = n % 8 == 0 && view8 && reinterpret_cast<uintptr_t>(st.ptr[in]) % sizeof(Pack8<T>) == 0 &&
                          reinterpret_cast<uintptr_t>(st.ptr[out]) % sizeof(Int8x8) == 0;
      if (quantize && params.count == 1 && packed)
        launch_kernel(quantize_per_tensor_kernel<T>, grid_for(n / 8), kThreads, 0, stream,
                      static_cast<const Pack8<T>*>(st.ptr[in]), InputView{view.channels / 8, view.pixel_stride / 8},
                      static_cast<Int8x8*>(st.ptr[out]), params, n / 8);
      else if (quantize)
        launch_kernel(quantize_kernel<T>, grid_for(n), kThreads, 0, stream, static_cast<const T*>(st.ptr[in]), view,
                      static_cast<int8_t*>(st.ptr[out]), params, n);
      else
        launch_kernel(dequantize_kernel<T>, grid_for(n), kThreads, 0, stream, static_cast<const int8_t*>(st.ptr[in]),
                      static_cast<T*>(st.ptr[out]), params, n);
    });
    Status s = launch_status(quantize ? "quantize_linear" : "dequantize_linear");
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

// Scales and int8 zero points of a Q / DQ node read from `slot`, uploaded, with the index
// rule for the slot's layout.
Status quant_params(PlanBuilder& b, const ir::Node& node, const Slot& slot, QuantParams& p) {
  const ir::Tensor* scale = b.constant_input(node, 1);
  if (!scale || scale->dtype() != ir::DType::kFloat32)
    return error(StatusCode::kUnsupported, "the scale must be a float32 constant");
  const ir::Tensor* zero = node.input(2) ? b.constant_input(node, 2) : nullptr;
  if (node.input(2) && (!zero || zero->dtype() != ir::DType::kInt8))
    return error(StatusCode::kUnsupported, "the zero point must be an int8 constant (the CUDA backend quantizes to int8)");
  if (!node.input(2) && node.op_type == "QuantizeLinear")
    return error(StatusCode::kUnsupported, "no zero point means uint8 output; the CUDA backend quantizes to int8");
  p.count = scale->numel();
  if (zero && zero->numel() != p.count) return error(StatusCode::kInvalidArgument, "zero point and scale differ in size");
  const int64_t rank = static_cast<int64_t>(slot.dims.size());
  if (p.count > 1) {
    int64_t axis = node.attr_int("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank || slot.dims[axis] != p.count || scale->rank() != 1)
      return error(StatusCode::kUnsupported, p.count, " scales do not fit axis ", node.attr_int("axis", 1), " of ",
                   ir::shape_to_string(slot.dims));
    if (slot.layout == Layout::kNHWC && axis != 1)
      return error(StatusCode::kUnsupported, "per-axis scales on axis ", axis, " of an NHWC tensor");
    p.inner = 1;
    if (slot.layout != Layout::kNHWC)
      for (int64_t d = axis + 1; d < rank; ++d) p.inner *= slot.dims[d];
  }
  std::vector<int32_t> zeros(static_cast<size_t>(p.count), 0);
  if (zero)
    for (int64_t i = 0; i < p.count; ++i) zeros[i] = zero->data<int8_t>()[i];
  KILN_ASSIGN_OR_RETURN(const void* s, b.upload(scale->raw(), p.count * 4, node.name + " scale"));
  KILN_ASSIGN_OR_RETURN(const void* z, b.upload(zeros.data(), zeros.size() * 4, node.name + " zero point"));
  p.scale = static_cast<const float*>(s);
  p.zero_point = static_cast<const int32_t*>(z);
  return Status::Ok();
}

Status plan_quant(PlanBuilder& b, const ir::Node& node, bool quantize) {
  auto step = std::make_unique<QuantStep>();
  step->quantize = quantize;
  step->float_type = b.act_dtype();
  if (quantize) {
    KILN_ASSIGN_OR_RETURN(const std::vector<int64_t> dims, b.dims_of(node, node.input(0)));
    if (dims.size() == 4) {
      KILN_ASSIGN_OR_RETURN(step->in, b.input_keep_views(node, 0, Layout::kNHWC));
    } else {
      KILN_ASSIGN_OR_RETURN(step->in, b.input_any_layout(node, 0));
    }
  } else {
    KILN_ASSIGN_OR_RETURN(step->in, b.input_as_is(node, 0));
    const Slot& s = b.slot(step->in);
    if (s.dtype != ir::DType::kInt8 || s.constant)
      return error(StatusCode::kUnsupported, "input '", s.name, "' is ", s.constant ? "a constant" : "a tensor",
                   " of dtype ", ir::dtype_name(s.dtype), "; the CUDA backend dequantizes computed int8 tensors only");
    KILN_ASSIGN_OR_RETURN(step->in, b.input_as(node, 0, s.layout, ir::DType::kInt8));
  }
  const Slot in = b.slot(step->in);
  KILN_RETURN_IF_ERROR(quant_params(b, node, in, step->params));
  step->n = in.numel();
  if (!in.packed()) step->view = {in.dims[1], in.pixel_stride};
  step->out = quantize ? b.define(node.outputs[0], in.dims, in.layout, ir::DType::kInt8)
                       : b.define(node.outputs[0], in.dims, in.layout);
  step->describe(node, quantize ? "quantize_int8" : "dequantize_int8", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace

Status plan_quantize_linear(PlanBuilder& b, const ir::Node& node) { return plan_quant(b, node, true); }
Status plan_dequantize_linear(PlanBuilder& b, const ir::Node& node) { return plan_quant(b, node, false); }

}  // namespace kiln::cuda
