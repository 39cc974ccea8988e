// Add, Sub, Mul, Div with numpy broadcasting, for float32, int32 and int64.
#include <cstring>

#include "backends/cpu/ops/op_util.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu::ops {
namespace {

template <typename T, typename F>
void binary_loop(const ir::Tensor& a, const ir::Tensor& b, ir::Tensor& out, F f) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  const int64_t n = out.numel();
  if (a.numel() == n && b.numel() == n) {
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    return;
  }
  if (b.numel() == 1 && a.numel() == n) {
    const T vb = pb[0];
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], vb);
    return;
  }
  // General case: loop over outer indices, innermost dimension with its own strides.
  const std::vector<int64_t>& shape = out.shape();
  const size_t rank = shape.size();
  const std::vector<int64_t> sa = broadcast_strides(a.shape(), shape);
  const std::vector<int64_t> sb = broadcast_strides(b.shape(), shape);
  const int64_t inner = shape[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  const int64_t outer = n / inner;
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t o = 0; o < outer; ++o) {
    int64_t rem = o, off_a = 0, off_b = 0;
    for (size_t d = rank - 1; d-- > 0;) {
      const int64_t idx = rem % shape[d];
      rem /= shape[d];
      off_a += idx * sa[d];
      off_b += idx * sb[d];
    }
    T* row = po + o * inner;
    for (int64_t i = 0; i < inner; ++i) row[i] = f(pa[off_a + i * ia], pb[off_b + i * ib]);
  }
}

template <typename F>
Status binary(KernelContext& ctx, F f) {
  KILN_RETURN_IF_ERROR(require_inputs(ctx, 2, 2));
  const ir::Tensor& a = *ctx.inputs[0];
  const ir::Tensor& b = *ctx.inputs[1];
  if (a.dtype() != b.dtype())
    return error(StatusCode::kInvalidArgument, "input dtypes differ: ", ir::dtype_name(a.dtype()), " vs ",
                 ir::dtype_name(b.dtype()));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, broadcast_shapes(a.shape(), b.shape()));
  ir::Tensor out(a.dtype(), shape);
  if (out.numel() > 0) {
    KILN_RETURN_IF_ERROR((dispatch_dtype<float, int32_t, int64_t>(a.dtype(), "binary op", [&](auto tag) {
      using T = decltype(tag);
      binary_loop<T>(a, b, out, [&](T x, T y) { return f(x, y); });
    })));
  }
  ctx.outputs.push_back(std::move(out));
  return Status::Ok();
}

}  // namespace

Status add(KernelContext& ctx) {
  return binary(ctx, [](auto x, auto y) { return x + y; });
}
Status sub(KernelContext& ctx) {
  return binary(ctx, [](auto x, auto y) { return x - y; });
}
Status mul(KernelContext& ctx) {
  return binary(ctx, [](auto x, auto y) { return x * y; });
}
Status div(KernelContext& ctx) {
  // Integer division by zero is undefined in ONNX; yield 0 rather than trap.
  return binary(ctx, [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_integral_v<T>) return y == 0 ? T{0} : static_cast<T>(x / y);
    else return x / y;
  });
}

}  // namespace kiln::cpu::ops
