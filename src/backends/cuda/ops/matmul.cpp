// MatMul (numpy semantics, rank >= 2, batch dims equal or one side un-batched) through
// cuBLAS strided-batched GEMM with FP32 accumulation. Row-major C = A·B is computed as
// column-major Cᵀ = Bᵀ·Aᵀ, which needs no transposes.
#include <cuda_fp16.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

class MatMulStep : public Step {
 public:
  int a = 0, b = 0, out = 0;
  int64_t m = 0, n = 0, k = 0, batch = 1, stride_a = 0, stride_b = 0;
  bool half = false;

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    KILN_RETURN_IF_ERROR(cublas_status(cublasSetStream(st.cublas, stream), name + ": cublasSetStream"));
    const float one = 1.f, zero = 0.f;
    const cudaDataType_t t = half ? CUDA_R_16F : CUDA_R_32F;
    return cublas_status(
        cublasGemmStridedBatchedEx(st.cublas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                   static_cast<int>(k), &one, st.ptr[b], t, static_cast<int>(n), stride_b, st.ptr[a],
                                   t, static_cast<int>(k), stride_a, &zero, st.ptr[out], t, static_cast<int>(n),
                                   m * n, static_cast<int>(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        name + ": cublasGemmStridedBatchedEx");
  }
};

}  // namespace

Status plan_matmul(PlanBuilder& b, const ir::Node& node) {
  auto step = std::make_unique<MatMulStep>();
  KILN_ASSIGN_OR_RETURN(step->a, b.input(node, 0, Layout::kLinear));
  KILN_ASSIGN_OR_RETURN(step->b, b.input(node, 1, Layout::kLinear));
  const Slot sa = b.slot(step->a), sb = b.slot(step->b);
  if (sa.dims.size() < 2 || sb.dims.size() < 2) return error(StatusCode::kUnsupported, "1-D MatMul operands");
  step->m = sa.dims[sa.dims.size() - 2];
  step->k = sa.dims.back();
  step->n = sb.dims.back();
  if (sb.dims[sb.dims.size() - 2] != step->k)
    return error(StatusCode::kInvalidArgument, "inner dims differ: ", ir::shape_to_string(sa.dims), " x ",
                 ir::shape_to_string(sb.dims));
  const std::vector<int64_t> ba(sa.dims.begin(), sa.dims.end() - 2), bb(sb.dims.begin(), sb.dims.end() - 2);
  int64_t na = 1, nb = 1;
  for (int64_t d : ba) na *= d;
  for (int64_t d : bb) nb *= d;
  std::vector<int64_t> out_batch;
  if (ba == bb || nb == 1) out_batch = ba;
  else if (na == 1) out_batch = bb;
  else return error(StatusCode::kUnsupported, "batch broadcast ", ir::shape_to_string(sa.dims), " x ", ir::shape_to_string(sb.dims));
  step->batch = std::max(na, nb);
  step->stride_a = na == 1 ? 0 : step->m * step->k;
  step->stride_b = nb == 1 ? 0 : step->k * step->n;
  std::vector<int64_t> dims = out_batch;
  dims.push_back(step->m);
  dims.push_back(step->n);
  step->out = b.define(node.outputs[0], dims, Layout::kLinear);
  step->half = b.act_dtype() == ir::DType::kFloat16;
  step->name = node.name;
  step->tactic = "cublas_strided_batched";
  step->reads = {step->a, step->b};
  step->writes = {step->out};
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
