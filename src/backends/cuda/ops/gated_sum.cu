// A sum of gated streams as one step: out = x1 * g1 + x2 * g2 + ..., each x an NHWC tensor and
// each g a [N, C, 1, 1] gate, as OSNet's aggregation gate joins its four streams (24 Mul and 18
// Add steps in x0.25). As binary ops a block's 4 Mul and 3 Add read or write the tensor 17
// times; here each stream is read once and the sum written once, accumulated in FP32.
//
// The nodes of such a tree (Muls of a tensor and a gate; Adds of them, each value consumed
// once, inside the tree; streams of one shape) are planned at its root Add, when every stream
// and gate exists; the tree's other nodes are planned as nothing. A tree that does not qualify
// is decided so at every one of its nodes, which then run as binary ops.
#include <climits>
#include <optional>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

constexpr int kMaxTerms = 8;

struct Terms {
  const void* x[kMaxTerms];
  const void* g[kMaxTerms];
};

// Vector i of the output sums vector i of every stream times the gate vector of its image and
// channels (`span` vectors per image, `inner` per pixel).
template <typename T, int V>
__global__ void gated_sum_kernel(Terms t, int terms, T* __restrict__ out, int vectors, int span, int inner) {
  begin_kernel();
  using L = Lanes<T, V>;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < vectors; i += gridDim.x * blockDim.x) {
    const int gi = (i / span) * inner + i % inner;
    float acc[V] = {};
    for (int k = 0; k < terms; ++k) {
      const L x = static_cast<const L*>(t.x[k])[i];
      const L g = static_cast<const L*>(t.g[k])[gi];
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] += to_float(x.v[j]) * to_float(g.v[j]);
    }
    L r;
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = from_float<T>(acc[j]);
    reinterpret_cast<L*>(out)[i] = r;
  }
}

class GatedSumStep : public Step {
 public:
  std::vector<int> x, g;  // slots of the streams (NHWC) and their gates ([N, C, 1, 1])
  int out = 0;
  int64_t n = 0, pixels = 0, c = 0;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    bool ok = dispatch_float(type, [&](auto tag) {
      using T = decltype(tag);
      Terms t{};
      bool aligned = aligned16(st.ptr[out]);
      for (size_t k = 0; k < x.size(); ++k) {
        t.x[k] = st.ptr[x[k]], t.g[k] = st.ptr[g[k]];
        aligned = aligned && aligned16(t.x[k], t.g[k]);
      }
      constexpr int kV = 16 / sizeof(T);
      const int v = aligned && c % kV == 0 ? kV : 1;
      const int vectors = static_cast<int>(n * pixels * c / v), span = static_cast<int>(pixels * c / v);
      const int inner = static_cast<int>(c / v), terms = static_cast<int>(x.size());
      T* o = static_cast<T*>(st.ptr[out]);
      if (v == kV)
        launch_kernel(gated_sum_kernel<T, kV>, grid_for(vectors), kThreads, 0, stream, t, terms, o, vectors, span,
                      inner);
      else
        launch_kernel(gated_sum_kernel<T, 1>, grid_for(vectors), kThreads, 0, stream, t, terms, o, vectors, span,
                      inner);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": gated_sum");
  }
};

// Index of the gate operand of `mul` (a [N, C, 1, 1] tensor times a computed [N, C, H, W]
// one), or -1 when it is not such a product.
int gate_operand(const PlanBuilder& b, const ir::Node& mul) {
  if (mul.op_type != "Mul" || mul.inputs.size() != 2 || mul.outputs.size() != 1) return -1;
  if (mul.input(0)->is_constant() || mul.input(1)->is_constant()) return -1;
  auto d0 = b.dims_of(mul, mul.input(0)), d1 = b.dims_of(mul, mul.input(1));
  if (!d0.ok() || !d1.ok() || d0->size() != 4 || d1->size() != 4) return -1;
  auto is_gate_of = [](const std::vector<int64_t>& gate, const std::vector<int64_t>& x) {
    return gate[0] == x[0] && gate[1] == x[1] && gate[2] == 1 && gate[3] == 1 && x[2] * x[3] > 1;
  };
  return is_gate_of(*d1, *d0) ? 1 : is_gate_of(*d0, *d1) ? 0 : -1;
}

// Appends the gate products under `v` (consumed only by `user`) to `leaves`, left to right;
// false when some value under it is not a gate product or a sum of them consumed once, or
// when it computes in another dtype than `dtype`.
bool collect(const PlanBuilder& b, const ir::Value* v, const ir::Node* user, ir::DType dtype,
             std::vector<const ir::Node*>& leaves) {
  const ir::Node* p = v->producer;
  if (!p || b.sole_consumer(v) != user || b.act_dtype_of(p) != dtype) return false;
  if (gate_operand(b, *p) >= 0) {
    leaves.push_back(p);
    return leaves.size() <= static_cast<size_t>(kMaxTerms);
  }
  return p->op_type == "Add" && p->inputs.size() == 2 && collect(b, p->input(0), p, dtype, leaves) &&
         collect(b, p->input(1), p, dtype, leaves);
}

// The gate products summed by the Add `add`, or none when it is not a tree of them whose
// streams share one shape of at most 2^31 elements (the kernel's indices).
std::vector<const ir::Node*> tree_leaves(const PlanBuilder& b, const ir::Node& add) {
  std::vector<const ir::Node*> leaves;
  const ir::DType dtype = b.act_dtype_of(&add);
  if (add.op_type != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1 ||
      !collect(b, add.input(0), &add, dtype, leaves) || !collect(b, add.input(1), &add, dtype, leaves))
    return {};
  std::optional<std::vector<int64_t>> shape;
  for (const ir::Node* mul : leaves) {
    auto dims = b.dims_of(*mul, mul->input(1 - gate_operand(b, *mul)));
    if (!dims.ok() || (shape && *dims != *shape) || (*dims)[0] * (*dims)[1] * (*dims)[2] * (*dims)[3] > INT_MAX)
      return {};
    shape = *dims;
  }
  return leaves;
}

// The outermost Add of the tree `node` belongs to, or null when it belongs to none.
const ir::Node* tree_root(const PlanBuilder& b, const ir::Node& node) {
  const ir::Node* root = gate_operand(b, node) >= 0 || !tree_leaves(b, node).empty() ? &node : nullptr;
  const ir::Node* r = &node;
  while (const ir::Node* user = b.sole_consumer(r->outputs[0])) {
    if (tree_leaves(b, *user).empty()) break;
    root = r = user;
  }
  // A sum written into its Concat's buffer keeps the binary ops (they write through strides).
  return root && root->op_type == "Add" && b.placed_pixel_stride(root->outputs[0]) == 0 ? root : nullptr;
}

}  // namespace

Result<bool> plan_gated_sum(PlanBuilder& b, const ir::Node& node) {
  const ir::Node* root = tree_root(b, node);
  if (!root) return false;
  if (root != &node) return true;  // planned with the root
  auto step = std::make_unique<GatedSumStep>();
  std::vector<int> reads;
  for (const ir::Node* mul : tree_leaves(b, node)) {
    const int gi = gate_operand(b, *mul);
    KILN_ASSIGN_OR_RETURN(const int x, b.input(*mul, static_cast<size_t>(1 - gi), Layout::kNHWC));
    KILN_ASSIGN_OR_RETURN(const int g, b.input_any_layout(*mul, static_cast<size_t>(gi)));
    step->x.push_back(x), step->g.push_back(g);
    reads.push_back(x), reads.push_back(g);
  }
  const std::vector<int64_t> dims = b.slot(step->x[0]).dims;  // every stream's (tree_leaves)
  step->n = dims[0], step->c = dims[1], step->pixels = dims[2] * dims[3];
  step->type = b.act_dtype();
  step->out = b.define(node.outputs[0], dims, Layout::kNHWC);
  step->describe(node, "gated_sum", std::move(reads), {step->out});
  b.add_step(std::move(step));
  return true;
}

}  // namespace kiln::cuda
