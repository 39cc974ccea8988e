// MatMul (numpy semantics, rank >= 2, batch dims equal or one side un-batched) through
// cuBLASLt with FP32 accumulation. Row-major C = A·B is computed as column-major
// Cᵀ = Bᵀ·Aᵀ, which needs no transposes. With tuning the builder times cuBLASLt's
// heuristic candidates for the layer's shapes on scratch operands and keeps the fastest,
// recording it in the timing cache (cuBLASLt documents its algo struct as trivially
// serializable for reuse with the same library version, which the key names).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/plan.h"
#include "backends/cuda/timing_cache.h"
#include "backends/cuda/tune_util.h"

namespace kiln::cuda {
namespace {

constexpr size_t kMaxWorkspace = 8u << 20;
constexpr int kCandidates = 8;

struct MatMulShape {
  int64_t m = 0, n = 0, k = 0, batch = 1, stride_a = 0, stride_b = 0;

  // The timing-cache key's layer part.
  std::string signature(bool half) const {
    return "matmul cublasLt" + std::to_string(cublasLtGetVersion()) + (half ? " fp16" : " fp32") + " m" +
           std::to_string(m) + " n" + std::to_string(n) + " k" + std::to_string(k) + " b" + std::to_string(batch) +
           " sa" + std::to_string(stride_a) + " sb" + std::to_string(stride_b);
  }
};

// One layer's cuBLASLt descriptors (of the column-major problem: lhs = B as n x k, rhs =
// A as k x m, out = C as n x m) and the algorithm chosen for it.
struct LtMatmul {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t lhs = nullptr, rhs = nullptr, out = nullptr;
  cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;

  LtMatmul() = default;
  LtMatmul(const LtMatmul&) = delete;
  LtMatmul& operator=(const LtMatmul&) = delete;
  ~LtMatmul() {
    for (cublasLtMatrixLayout_t l : {lhs, rhs, out})
      if (l) cublasLtMatrixLayoutDestroy(l);
    if (op) cublasLtMatmulDescDestroy(op);
  }

  // out = lhs · rhs for each of the batch, on `stream`.
  Status run(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& with, size_t ws_bytes, const void* a, const void* b,
             void* c, void* ws, cudaStream_t stream) const {
    const float one = 1.f, zero = 0.f;
    return cublas_status(cublasLtMatmul(h, op, &one, b, lhs, a, rhs, &zero, c, out, c, out, &with, ws, ws_bytes, stream),
                         "cublasLtMatmul");
  }
};

Status make_layout(cublasLtMatrixLayout_t* l, cudaDataType_t t, int64_t rows, int64_t cols, int64_t batch,
                   int64_t stride) {
  KILN_RETURN_IF_ERROR(cublas_status(cublasLtMatrixLayoutCreate(l, t, rows, cols, rows), "cublasLtMatrixLayoutCreate"));
  const int32_t count = static_cast<int32_t>(batch);
  KILN_RETURN_IF_ERROR(cublas_status(
      cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)), "batch count"));
  return cublas_status(
      cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
      "batch stride");
}

Status make_descriptors(LtMatmul& mm, const MatMulShape& s, cudaDataType_t t) {
  KILN_RETURN_IF_ERROR(
      cublas_status(cublasLtMatmulDescCreate(&mm.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate"));
  KILN_RETURN_IF_ERROR(make_layout(&mm.lhs, t, s.n, s.k, s.batch, s.stride_b));
  KILN_RETURN_IF_ERROR(make_layout(&mm.rhs, t, s.k, s.m, s.batch, s.stride_a));
  return make_layout(&mm.out, t, s.n, s.m, s.batch, s.m * s.n);
}

// cuBLASLt's candidate algorithms for the problem, best first by its heuristic.
Result<std::vector<cublasLtMatmulHeuristicResult_t>> candidates(cublasLtHandle_t h, const LtMatmul& mm,
                                                                 size_t max_workspace) {
  cublasLtMatmulPreference_t pref = nullptr;
  KILN_RETURN_IF_ERROR(cublas_status(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate"));
  Status st = cublas_status(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                                 &max_workspace, sizeof(max_workspace)),
                            "max workspace");
  std::vector<cublasLtMatmulHeuristicResult_t> found(kCandidates);
  int n = 0;
  if (st.ok())
    st = cublas_status(cublasLtMatmulAlgoGetHeuristic(h, mm.op, mm.lhs, mm.rhs, mm.out, mm.out, pref, kCandidates,
                                                      found.data(), &n),
                       "cublasLtMatmulAlgoGetHeuristic");
  cublasLtMatmulPreferenceDestroy(pref);
  KILN_RETURN_IF_ERROR(st);
  found.resize(static_cast<size_t>(n));
  std::erase_if(found, [](const cublasLtMatmulHeuristicResult_t& r) { return r.state != CUBLAS_STATUS_SUCCESS; });
  if (found.empty()) return error(StatusCode::kUnsupported, "cuBLASLt has no algorithm for this MatMul");
  return found;
}

// The algorithm of a timing-cache entry, when cuBLASLt still accepts it for this problem.
std::optional<cublasLtMatmulHeuristicResult_t> cached_algo(cublasLtHandle_t h, const LtMatmul& mm,
                                                           const TunedChoice& c, size_t max_workspace) {
  cublasLtMatmulHeuristicResult_t r{};
  if (c.plan.size() != sizeof(r.algo)) return std::nullopt;
  std::memcpy(&r.algo, c.plan.data(), sizeof(r.algo));
  if (cublasLtMatmulAlgoCheck(h, mm.op, mm.lhs, mm.rhs, mm.out, mm.out, &r.algo, &r) != CUBLAS_STATUS_SUCCESS ||
      r.workspaceSize > max_workspace)
    return std::nullopt;
  return r;
}

// The fastest candidate on scratch operands (index into `cands`) and its time.
Result<std::pair<size_t, double>> fastest(cublasLtHandle_t h, const LtMatmul& mm, const MatMulShape& s,
                                          size_t elem, const std::vector<cublasLtMatmulHeuristicResult_t>& cands) {
  TuneScratch scratch;
  size_t ws_max = 0;
  for (const auto& c : cands) ws_max = std::max(ws_max, c.workspaceSize);
  const auto rows = [&](int64_t stride, int64_t each) { return static_cast<size_t>(stride ? s.batch * each : each); };
  KILN_ASSIGN_OR_RETURN(void* a, scratch.alloc(rows(s.stride_a, s.m * s.k) * elem));
  KILN_ASSIGN_OR_RETURN(void* b, scratch.alloc(rows(s.stride_b, s.k * s.n) * elem));
  KILN_ASSIGN_OR_RETURN(void* c, scratch.alloc(static_cast<size_t>(s.batch * s.m * s.n) * elem));
  KILN_ASSIGN_OR_RETURN(void* ws, scratch.alloc(ws_max));
  double best = 1e30;
  size_t pick = 0;
  for (size_t i = 0; i < cands.size(); ++i) {
    auto ms = min_time_ms(nullptr, [&] { return mm.run(h, cands[i].algo, cands[i].workspaceSize, a, b, c, ws, nullptr); });
    if (ms.ok() && *ms < best) {
      best = *ms;
      pick = i;
    }
  }
  if (best >= 1e30) return error(StatusCode::kUnsupported, "no cuBLASLt algorithm ran");
  return std::make_pair(pick, best);
}

// The algorithm for the layer: from the timing cache, else the fastest of cuBLASLt's
// candidates (recorded), else (no tuning) its heuristic's first; `how` gets the tactic
// name's suffix saying which.
Result<cublasLtMatmulHeuristicResult_t> choose_algo(PlanBuilder& b, const LtMatmul& mm, const MatMulShape& s,
                                                    bool half, std::string& how) {
  const cublasLtHandle_t h = b.handles().cublaslt;
  TimingCache* cache = b.options().tune ? b.timing_cache() : nullptr;
  const std::string key = b.device_key() + "|" + s.signature(half);
  const size_t cap = b.options().max_workspace_bytes;
  const size_t max_workspace = cap ? std::min(cap, kMaxWorkspace) : kMaxWorkspace;
  if (cache)
    if (auto c = cache->find(key))
      if (auto r = cached_algo(h, mm, *c, max_workspace)) {
        how = " (cached)";
        return *r;
      }
  if (cache && cache->replay_only())
    return error(StatusCode::kIncompatible, "cuBLASLt cannot use the recorded algorithm for ", s.signature(half));
  KILN_ASSIGN_OR_RETURN(auto cands, candidates(h, mm, max_workspace));
  if (!b.options().tune) {
    how = " (heuristic)";
    return cands.front();
  }
  const auto t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(auto best, fastest(h, mm, s, half ? 2 : 4, cands));
  b.stats().tune_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const cublasLtMatmulHeuristicResult_t& r = cands[best.first];
  if (cache) {
    TunedChoice c;
    c.ms = best.second;
    const auto* bytes = reinterpret_cast<const uint8_t*>(&r.algo);
    c.plan.assign(bytes, bytes + sizeof(r.algo));
    cache->put(key, c);
  }
  how.clear();
  return r;
}

class MatMulStep : public Step {
 public:
  int a = 0, b = 0, out = 0;
  std::shared_ptr<LtMatmul> mm;

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    Status s = mm->run(st.cublaslt, mm->algo, mm->workspace, st.ptr[a], st.ptr[b], st.ptr[out], st.workspace, stream);
    if (!s.ok()) return error(s.code(), name, ": ", s.message());
    return Status::Ok();
  }
};

}  // namespace

Status plan_matmul(PlanBuilder& b, const ir::Node& node) {
  auto step = std::make_unique<MatMulStep>();
  KILN_ASSIGN_OR_RETURN(step->a, b.input(node, 0, Layout::kLinear));
  KILN_ASSIGN_OR_RETURN(step->b, b.input(node, 1, Layout::kLinear));
  const Slot sa = b.slot(step->a), sb = b.slot(step->b);
  if (sa.dims.size() < 2 || sb.dims.size() < 2) return error(StatusCode::kUnsupported, "1-D MatMul operands");
  MatMulShape s;
  s.m = sa.dims[sa.dims.size() - 2];
  s.k = sa.dims.back();
  s.n = sb.dims.back();
  if (sb.dims[sb.dims.size() - 2] != s.k)
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
  s.batch = std::max(na, nb);
  s.stride_a = na == 1 ? 0 : s.m * s.k;
  s.stride_b = nb == 1 ? 0 : s.k * s.n;
  std::vector<int64_t> dims = out_batch;
  dims.push_back(s.m);
  dims.push_back(s.n);
  step->out = b.define(node.outputs[0], dims, Layout::kLinear);

  const bool half = b.act_dtype() == ir::DType::kFloat16;
  step->mm = std::make_shared<LtMatmul>();
  KILN_RETURN_IF_ERROR(make_descriptors(*step->mm, s, half ? CUDA_R_16F : CUDA_R_32F));
  std::string how;
  KILN_ASSIGN_OR_RETURN(const cublasLtMatmulHeuristicResult_t r, choose_algo(b, *step->mm, s, half, how));
  step->mm->algo = r.algo;
  step->mm->workspace = r.workspaceSize;
  b.need_workspace(step->mm->workspace);
  int32_t id = -1;
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&step->mm->algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), &written);
  step->describe(node, "cublaslt:algo" + std::to_string(id) + how, {step->a, step->b}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
