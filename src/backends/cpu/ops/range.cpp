// Range(start, limit, delta): max(ceil((limit - start) / delta), 0) values.
#include <cmath>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"
#include "ir/size_limits.h"

namespace kiln::cpu::ops {

Status range(KernelContext& ctx) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 3, 3));
  const ir::DType dt = ctx.inputs[0]->dtype();
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.inputs[i]->numel() != 1) return error(StatusCode::kInvalidArgument, "input ", i, " must be a scalar");
    if (ctx.inputs[i]->dtype() != dt) return error(StatusCode::kInvalidArgument, "inputs must share one dtype");
  }
  if (ctx.inputs[2]->to_float32().data<float>()[0] == 0.0f)
    return error(StatusCode::kInvalidArgument, "delta is 0");
  Status st = Status::Ok();
  const Status dispatched = dispatch_dtype<float, int32_t, int64_t>(dt, "Range", [&](auto tag) {
    using T = decltype(tag);
    const T start = ctx.inputs[0]->data<T>()[0];
    const T limit = ctx.inputs[1]->data<T>()[0];
    const T delta = ctx.inputs[2]->data<T>()[0];
    const double count = std::ceil((static_cast<double>(limit) - start) / static_cast<double>(delta));
    if (!(count <= static_cast<double>(ir::kMaxElements))) {  // also NaN and infinities
      st = error(StatusCode::kInvalidArgument, "Range of ", count, " values is beyond kiln's limits");
      return;
    }
    const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(count));
    ir::Tensor out(dt, {n});
    T* o = out.data<T>();
    // Accumulate as ONNX Runtime does, so float ranges round identically.
    T value = start;
    for (int64_t i = 0; i < n; ++i, value = static_cast<T>(value + delta)) o[i] = value;
    ctx.outputs.push_back(std::move(out));
  });
  return dispatched.ok() ? st : dispatched;
}

}  // namespace kiln::cpu::ops
