// Gemm: Y = alpha * op(A) op(B) + beta * C (transA, transB; C broadcast to [M, N]), and a
// BatchNormalization that is the Gemm's sole consumer folded in (OSNet's fc: Gemm -> BN).
// cuBLAS multiplies with FP32 accumulation into an FP32 scratch matrix; one epilogue kernel
// then writes Y = (acc + beta * C) * scale[n] + shift[n] in the activation dtype. A constant
// C that is constant along M (a bias) is folded into shift on the host, so in FP16 neither
// the bias nor the pre-BN values are rounded to half (storing them in half lost ~1% of the
// OSNet features' range to cancellation in the BN shift).
// Row-major Y = op(A)·op(B) is computed as column-major Yᵀ = op(B)ᵀ·op(A)ᵀ: a row-major
// matrix is its column-major transpose, so op(X)ᵀ is X's memory read with CUBLAS_OP_N when
// X is not transposed, CUBLAS_OP_T when it is.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/batch_norm_affine.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

// c (runtime C, or null) is read at row * c_sm + col * c_sn (0 strides broadcast).
template <typename T>
__global__ void gemm_epilogue_kernel(const float* __restrict__ acc, const T* __restrict__ c, int64_t c_sm, int64_t c_sn,
                                     float beta, const float* __restrict__ scale, const float* __restrict__ shift,
                                     T* __restrict__ out, int64_t m, int64_t n) {
  begin_kernel();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < m * n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / n, col = i % n;
    float v = acc[i];
    if (c) v += beta * to_float(c[row * c_sm + col * c_sn]);
    out[i] = from_float<T>(v * scale[col] + shift[col]);
  }
}

class GemmStep : public Step {
 public:
  int a = 0, b = 0, c = -1, out = 0;  // c: runtime (or non-bias) C, read in the kernel
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, c_sm = 0, c_sn = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 0.f;
  const float* scale = nullptr;  // device, [N]
  const float* shift = nullptr;
  ir::DType type{};

  bool uses_cublas() const override { return true; }
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    if (m * n == 0) return Status::Ok();
    KILN_RETURN_IF_ERROR(cublas_status(cublasSetStream(st.cublas, stream), name + ": cublasSetStream"));
    const cudaDataType_t t = type == ir::DType::kFloat16 ? CUDA_R_16F : CUDA_R_32F;
    const float zero = 0.f;
    auto* acc = static_cast<float*>(st.workspace);
    KILN_RETURN_IF_ERROR(cublas_status(
        cublasGemmEx(st.cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                     static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, st.ptr[b], t,
                     static_cast<int>(ldb), st.ptr[a], t, static_cast<int>(lda), &zero, acc, CUDA_R_32F,
                     static_cast<int>(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        name + ": cublasGemmEx"));
    bool ok = dispatch_float(type, [&](auto tag) {
      using T = decltype(tag);
      launch_kernel(gemm_epilogue_kernel<T>, grid_for(m * n), kThreads, 0, stream, acc,
                    c >= 0 ? static_cast<const T*>(st.ptr[c]) : nullptr, c_sm, c_sn, beta, scale, shift,
                    static_cast<T*>(st.ptr[out]), m, n);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": gemm_epilogue");
  }
};

}  // namespace

Status plan_gemm(PlanBuilder& b, const ir::Node& node) {
  auto step = std::make_unique<GemmStep>();
  KILN_ASSIGN_OR_RETURN(step->a, b.input(node, 0, Layout::kLinear));
  KILN_ASSIGN_OR_RETURN(step->b, b.input(node, 1, Layout::kLinear));
  const Slot sa = b.slot(step->a), sb = b.slot(step->b);
  if (sa.dims.size() != 2 || sb.dims.size() != 2) return error(StatusCode::kInvalidArgument, "A and B must be 2-D");
  step->trans_a = node.attr_int("transA", 0) != 0;
  step->trans_b = node.attr_int("transB", 0) != 0;
  step->alpha = node.attr_float("alpha", 1.f);
  step->beta = node.attr_float("beta", 1.f);
  const int64_t m = step->trans_a ? sa.dims[1] : sa.dims[0];
  const int64_t n = step->trans_b ? sb.dims[0] : sb.dims[1];
  step->m = m;
  step->n = n;
  step->k = step->trans_a ? sa.dims[0] : sa.dims[1];
  if ((step->trans_b ? sb.dims[1] : sb.dims[0]) != step->k)
    return error(StatusCode::kInvalidArgument, "A ", ir::shape_to_string(sa.dims), " and B ",
                 ir::shape_to_string(sb.dims), " do not multiply");
  step->lda = sa.dims[1];
  step->ldb = sb.dims[1];

  std::vector<float> scale(static_cast<size_t>(n), 1.f), shift(static_cast<size_t>(n), 0.f);
  if (node.input(2) && step->beta != 0.f) {
    KILN_ASSIGN_OR_RETURN(const std::vector<int64_t> cd, b.dims_of(node, node.input(2)));
    if (cd.size() > 2) return error(StatusCode::kInvalidArgument, "C has rank ", cd.size());
    const std::vector<int64_t> mn = {m, n};
    const size_t off = 2 - cd.size();
    for (size_t i = 0; i < cd.size(); ++i)
      if (cd[i] != 1 && cd[i] != mn[off + i])
        return error(StatusCode::kInvalidArgument, "C ", ir::shape_to_string(cd), " does not broadcast to [", m, ",", n,
                     "]");
    const bool along_m = cd.size() == 2 && cd[0] != 1;
    const ir::Tensor* ct = b.constant_input(node, 2);
    if (ct && !along_m) {  // a bias: beta * C into shift, in FP32
      ir::Tensor cf = ct->to_float32();
      const bool per_column = cf.numel() == n && n != 1;
      for (int64_t j = 0; j < n; ++j) shift[j] = step->beta * cf.data<float>()[per_column ? j : 0];
    } else {
      KILN_ASSIGN_OR_RETURN(step->c, b.input(node, 2, Layout::kLinear));
      const std::vector<int64_t> st = b.slot(step->c).logical_strides();
      int64_t* c_st[2] = {&step->c_sm, &step->c_sn};
      for (size_t i = 0; i < cd.size(); ++i) *c_st[off + i] = cd[i] == 1 ? 0 : st[i];
    }
  }

  // Fold a following BatchNormalization (sole consumer, constant parameters, channels = N).
  const ir::Value* out_value = node.outputs[0];
  std::string tactic = "cublas_gemm+epilogue";
  if (const ir::Node* next = b.sole_consumer(out_value); next && next->op_type == "BatchNormalization") {
    if (auto bn = batch_norm_affine(b, *next, n); bn.ok()) {
      for (int64_t j = 0; j < n; ++j) {
        scale[j] = bn->scale[j];
        shift[j] = shift[j] * bn->scale[j] + bn->shift[j];
      }
      b.skip_node(next);
      out_value = next->outputs[0];
      tactic += "+batchnorm";
    }
  }
  KILN_ASSIGN_OR_RETURN(const void* dscale, b.upload(scale.data(), scale.size() * 4, node.name + " scale"));
  KILN_ASSIGN_OR_RETURN(const void* dshift, b.upload(shift.data(), shift.size() * 4, node.name + " shift"));
  step->scale = static_cast<const float*>(dscale);
  step->shift = static_cast<const float*>(dshift);
  b.need_workspace(static_cast<size_t>(m * n) * sizeof(float));

  step->out = b.define(out_value, {m, n}, Layout::kLinear);
  step->type = b.act_dtype();
  step->describe(node, tactic, {step->a, step->b}, {step->out});
  if (step->c >= 0) step->reads.push_back(step->c);
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
