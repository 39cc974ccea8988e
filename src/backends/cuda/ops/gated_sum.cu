// A sum of gated streams as one step: out = x1 * g1 + x2 * g2 + ..., each x an NHWC tensor and
// each g a [N, C, 1, 1] gate, as OSNet's aggregation gate joins its four streams (24 Mul and 18
// Add steps in x0.25). As binary ops a block's 4 Mul and 3 Add read or write the tensor 17
// times; here each stream is read once and the sum written once, accumulated in FP32.
//
// The nodes of such a tree (Muls of a tensor and a gate; Adds of them, each value consumed
// once, inside the tree; streams of one shape) are planned at its root Add, when every stream
// and gate exists; the tree's other nodes are planned as nothing. A tree that does not qualify
// is decided so at every one of its nodes, which then run as binary ops.
//
// Where each gate is a channel gate of its own stream (GlobalAveragePool of x -> gate MLP ->
// Sigmoid; OSNet's), the step computes the gates too, and the gates are planned as nothing:
// a cluster of blocks per image pools the streams over a share of the pixels each, adds the
// cluster's sums through distributed shared memory, runs each gate's MLP and then sums its
// pixels. Apart, each stream's gate was a launch of one block per image after the stream's
// last conv (OSNet batch 20: 4.5-7 us on the critical path of each of its six blocks).
#include <cooperative_groups.h>

#include <climits>
#include <optional>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_support.h"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/channel_gate.h"
#include "backends/cuda/ops/channel_gate_mlp.cuh"
#include "backends/cuda/ops/gated_sum.h"
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

constexpr int kClusterBlocks = 8;  // a portable cluster size

struct TermGates {
  GateWeights w[kMaxTerms];
};

// Shared memory of a block of gated_sum_gates_kernel: its sums, then the means and gates, of
// every stream's channels, and each stream's hidden layer.
size_t gates_shared_bytes(int terms, int c, int hidden) {
  return (2 * static_cast<size_t>(terms) * c + static_cast<size_t>(terms) * hidden) * sizeof(float);
}

// blockIdx: (rank in the cluster, image). The block sums the pixels [p0, p1) of its image:
// the streams' per-channel sums first (rounded to T as the GlobalAveragePool's output would
// be stored, the gates likewise), then the gated sum of those pixels.
template <typename T, int V>
__global__ void gated_sum_gates_kernel(Terms t, TermGates gw, int terms, T* __restrict__ out, int pixels, int c,
                                       int hidden, bool silu_hidden) {
  begin_kernel();
#if __CUDA_ARCH__ >= 900
  using L = Lanes<T, V>;
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  extern __shared__ __align__(16) float gate_shared[];
  float* sums = gate_shared;        // [terms][c], read by the whole cluster
  float* gates = sums + terms * c;  // [terms][c]: the means, then the gates
  float* hid = gates + terms * c;   // [terms][hidden]
  const int groups = c / V;
  const int rank = static_cast<int>(cluster.block_rank());
  const int p0 = static_cast<int>(int64_t{pixels} * rank / kClusterBlocks);
  const int p1 = static_cast<int>(int64_t{pixels} * (rank + 1) / kClusterBlocks);
  const size_t image = static_cast<size_t>(blockIdx.y) * pixels * c;

  // Each stream's channel sums over [p0, p1): a warp per stream and group of V channels,
  // its lanes taking every 32nd pixel, then summed across the warp by a butterfly (a fixed
  // order: the same sums run to run).
  const int warp = threadIdx.x / 32, wl = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int item = warp; item < terms * groups; item += warps) {
    const int k = item / groups, g = item % groups;
    const T* x = static_cast<const T*>(t.x[k]) + image + g * V;
    float acc[V] = {};
    for (int p = p0 + wl; p < p1; p += 32) {
      const L xv = *reinterpret_cast<const L*>(x + static_cast<size_t>(p) * c);
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] += to_float(xv.v[j]);
    }
#pragma unroll
    for (int j = 0; j < V; ++j) {
      for (int o = 16; o > 0; o /= 2) acc[j] += __shfl_xor_sync(0xffffffffu, acc[j], o);
      if (wl == 0) sums[k * c + g * V + j] = acc[j];
    }
  }

  // The means from the cluster's sums, in rank order.
  cluster.sync();
  const float scale = 1.f / static_cast<float>(pixels);
  for (int i = threadIdx.x; i < terms * c; i += blockDim.x) {
    float s = 0.f;
    for (int r = 0; r < kClusterBlocks; ++r) s += cluster.map_shared_rank(sums, r)[i];
    gates[i] = to_float(from_float<T>(s * scale));
  }
  cluster.sync();  // no block leaves while another reads its sums

  // Each gate's MLP: a warp per hidden unit, then a thread per channel.
  for (int item = warp; item < terms * hidden; item += warps) {
    const int k = item / hidden, j = item % hidden;
    const float unit = gate_hidden_unit(gw.w[k], gates + k * c, c, j, silu_hidden);
    if (wl == 0) hid[item] = unit;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < terms * c; i += blockDim.x) {
    const int k = i / c;
    gates[i] = to_float(from_float<T>(gate_of_channel(gw.w[k], hid + k * hidden, hidden, i % c)));
  }
  __syncthreads();

  for (int i = p0 * groups + threadIdx.x; i < p1 * groups; i += blockDim.x) {
    const int gi = i % groups;
    float acc[V] = {};
    for (int k = 0; k < terms; ++k) {
      const L xv = *reinterpret_cast<const L*>(static_cast<const T*>(t.x[k]) + image + static_cast<size_t>(i) * V);
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] += to_float(xv.v[j]) * gates[k * c + gi * V + j];
    }
    L r;
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = from_float<T>(acc[j]);
    *reinterpret_cast<L*>(out + image + static_cast<size_t>(i) * V) = r;
  }
#endif
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

// The gated sum that computes its streams' gates (gated_sum_gates_kernel).
class GatedSumGatesStep : public Step {
 public:
  std::vector<int> x;  // slots of the streams (NHWC)
  std::vector<GateWeights> gates;
  int out = 0;
  int64_t n = 0, pixels = 0, c = 0, hidden = 0;
  bool silu_hidden = false;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    bool ok = dispatch_float(type, [&](auto tag) {
      using T = decltype(tag);
      Terms t{};
      TermGates gw{};
      bool aligned = aligned16(st.ptr[out]);
      for (size_t k = 0; k < x.size(); ++k) {
        t.x[k] = st.ptr[x[k]], gw.w[k] = gates[k];
        aligned = aligned && aligned16(t.x[k]);
      }
      constexpr int kV = 16 / sizeof(T);
      const int v = aligned && c % kV == 0 ? kV : 1, terms = static_cast<int>(x.size());
      const dim3 grid(kClusterBlocks, static_cast<unsigned>(n));
      const size_t shared = gates_shared_bytes(terms, static_cast<int>(c), static_cast<int>(hidden));
      T* o = static_cast<T*>(st.ptr[out]);
      const int p = static_cast<int>(pixels), ci = static_cast<int>(c), h = static_cast<int>(hidden);
      if (v == kV)
        launch_kernel_in_clusters(gated_sum_gates_kernel<T, kV>, grid, kThreads, kClusterBlocks, shared, stream, t, gw,
                                  terms, o, p, ci, h, silu_hidden);
      else
        launch_kernel_in_clusters(gated_sum_gates_kernel<T, 1>, grid, kThreads, kClusterBlocks, shared, stream, t, gw,
                                  terms, o, p, ci, h, silu_hidden);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": gated_sum+gates");
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

// The channel gate (gate_at, started by a pooled fc1) that computes the gate operand of the
// product `mul` from the product's own stream, or none.
std::optional<Gate> stream_gate(const PlanBuilder& b, const ir::Node& mul, const ir::Node** fc1_out) {
  const int gi = gate_operand(b, mul);
  if (gi < 0) return std::nullopt;
  const ir::Node* act2 = mul.input(static_cast<size_t>(gi))->producer;
  const ir::Node* fc2 = act2 && act2->op_type == "Sigmoid" ? act2->input(0)->producer : nullptr;
  const ir::Node* act1 = fc2 ? fc2->input(0)->producer : nullptr;
  const ir::Node* fc1 = act1 ? act1->input(0)->producer : nullptr;
  if (!fc1 || fc1->op_type != "Conv") return std::nullopt;
  std::optional<Gate> g = gate_at(b, *fc1);
  const ir::Node* pool = fc1->input(0)->producer;
  if (!g || g->act2 != act2 || !pool || !pools_into_channel_gate(b, *pool) ||
      pool->input(0) != mul.input(static_cast<size_t>(1 - gi)) || b.act_dtype_of(fc1) != b.act_dtype_of(&mul))
    return std::nullopt;
  if (fc1_out) *fc1_out = fc1;
  return g;
}

// Whether the tree at `root` computes its gates (GatedSumGatesStep): every product's gate a
// channel gate of its own stream, all of one hidden size and activation, within the
// kernel's limits, on a GPU that runs thread block clusters.
bool takes_gates(const PlanBuilder& b, const std::vector<const ir::Node*>& leaves) {
  if (leaves.empty() || !sm90_kernels_running()) return false;
  std::optional<Gate> first;
  for (const ir::Node* mul : leaves) {
    const std::optional<Gate> g = stream_gate(b, *mul, nullptr);
    if (!g || (first && (g->hidden != first->hidden || g->act1->op_type != first->act1->op_type))) return false;
    if (!first) first = g;
  }
  const int terms = static_cast<int>(leaves.size());
  return first->n <= 65535 &&
         gates_shared_bytes(terms, static_cast<int>(first->c), static_cast<int>(first->hidden)) <= kMaxSharedBytes;
}

Result<bool> plan_gated_sum_gates(PlanBuilder& b, const ir::Node& root, const std::vector<const ir::Node*>& leaves) {
  auto step = std::make_unique<GatedSumGatesStep>();
  for (const ir::Node* mul : leaves) {
    const ir::Node* fc1 = nullptr;
    const Gate g = *stream_gate(b, *mul, &fc1);
    KILN_ASSIGN_OR_RETURN(const int x, b.input(*mul, static_cast<size_t>(1 - gate_operand(b, *mul)), Layout::kNHWC));
    KILN_ASSIGN_OR_RETURN(const GateWeights w, upload_gate(b, *fc1, g));
    step->x.push_back(x), step->gates.push_back(w);
    step->hidden = g.hidden, step->silu_hidden = g.act1->op_type == "SiLU";
  }
  const std::vector<int64_t> dims = b.slot(step->x[0]).dims;  // every stream's (tree_leaves)
  step->n = dims[0], step->c = dims[1], step->pixels = dims[2] * dims[3];
  step->type = b.act_dtype();
  step->out = b.define(root.outputs[0], dims, Layout::kNHWC);
  step->describe(root, "gated_sum+gates", step->x, {step->out});
  b.add_step(std::move(step));
  return true;
}

}  // namespace

Result<bool> plan_gated_sum(PlanBuilder& b, const ir::Node& node) {
  const ir::Node* root = tree_root(b, node);
  if (!root) return false;
  if (root != &node) return true;  // planned with the root
  const std::vector<const ir::Node*> leaves = tree_leaves(b, node);
  if (takes_gates(b, leaves)) return plan_gated_sum_gates(b, node, leaves);
  auto step = std::make_unique<GatedSumStep>();
  std::vector<int> reads;
  for (const ir::Node* mul : leaves) {
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

bool gate_folds_into_sum(const PlanBuilder& b, const ir::Node& fc1) {
  const std::optional<Gate> g = gate_at(b, fc1);
  const ir::Node* mul = g ? b.sole_consumer(g->act2->outputs[0]) : nullptr;
  const ir::Node* root = mul && gate_operand(b, *mul) >= 0 ? tree_root(b, *mul) : nullptr;
  return root && takes_gates(b, tree_leaves(b, *root));
}

}  // namespace kiln::cuda
