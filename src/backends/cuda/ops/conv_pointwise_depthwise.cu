// A linear 1x1 conv feeding a 3x3 depthwise conv alone, as one step: OSNet's LightConv3x3
// (1x1 without bias or activation, then the depthwise conv with its folded BatchNorm and a
// ReLU), ten of them in each of its six blocks. Apart, each is a launch of a few
// microseconds on a few hundred kilobytes, and the streams of a block wait on them one
// after another; together, a block of threads computes the 1x1 over its output tile and a
// one-pixel border into shared memory, rounded to the activation dtype as the 1x1's output
// would be stored, then the depthwise conv from there: one launch, and the 1x1's output
// never goes to global memory. FP32 accumulation, the channels in 16-byte vectors.
#include <algorithm>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/ops/conv_nodes.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

constexpr int kMaxChannels = 64;  // either conv's channels: the 1x1 weights stay in shared memory
// Enough blocks to fill an H100 / H200 (132 SMs) twice; smaller tiles only to get there.
constexpr int64_t kWantBlocks = 264;

struct Args {
  int h, w, cin, cmid;     // input [n, h, w, cin], output [n, h, w, cmid], both NHWC
  int tile_h, tile_w;      // output pixels of one block
};

struct Tile {
  int h, w;
};

// Shared memory of a block: the 1x1 weights in FP32, then the 1x1's output over the tile
// and its border in the activation dtype.
size_t shared_bytes(const Args& a, size_t elem) {
  return static_cast<size_t>(a.cin) * a.cmid * sizeof(float) +
         static_cast<size_t>(a.tile_h + 2) * (a.tile_w + 2) * a.cmid * elem;
}

template <int V>
__device__ __forceinline__ void fma_lanes(float (&acc)[V], float x, const float* w) {
#pragma unroll
  for (int j = 0; j < V; j += 4) {
    const float4 w4 = *reinterpret_cast<const float4*>(w + j);
    acc[j] = fmaf(x, w4.x, acc[j]);
    acc[j + 1] = fmaf(x, w4.y, acc[j + 1]);
    acc[j + 2] = fmaf(x, w4.z, acc[j + 2]);
    acc[j + 3] = fmaf(x, w4.w, acc[j + 3]);
  }
}

// blockIdx: (tile column, tile row, image). w1: [cin][cmid]; b1: [cmid] or null; w2:
// [3][3][cmid]; b2: [cmid].
template <typename T>
__global__ void pointwise_depthwise_kernel(const T* __restrict__ in, const float* __restrict__ w1,
                                           const float* __restrict__ b1, const float* __restrict__ w2,
                                           const float* __restrict__ b2, T* __restrict__ out, Args a, ConvAct act) {
  constexpr int V = 16 / sizeof(T);
  using L = Lanes<T, V>;
  extern __shared__ __align__(16) float shared[];
  float* w1s = shared;
  T* mid = reinterpret_cast<T*>(shared + a.cin * a.cmid);
  // The weights come from the plan, not from an earlier kernel: staged while that kernel ends.
  for (int i = threadIdx.x; i < a.cin * a.cmid; i += blockDim.x) w1s[i] = w1[i];
  begin_kernel();
  __syncthreads();

  const int groups = a.cmid / V, border_w = a.tile_w + 2, border_pixels = (a.tile_h + 2) * border_w;
  const int y0 = blockIdx.y * a.tile_h - 1, x0 = blockIdx.x * a.tile_w - 1;  // the border's corner
  const size_t image = static_cast<size_t>(blockIdx.z) * a.h * a.w;
  // The 1x1: V mid channels of one pixel of the tile or its border per item; outside the
  // image the depthwise conv's zero padding.
  for (int i = threadIdx.x; i < border_pixels * groups; i += blockDim.x) {
    const int g = i % groups, p = i / groups;
    const int y = y0 + p / border_w, x = x0 + p % border_w;
    float acc[V];
    if (y < 0 || y >= a.h || x < 0 || x >= a.w) {
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] = 0.f;
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] = b1 ? b1[g * V + j] : 0.f;
      const T* px = in + (image + static_cast<size_t>(y) * a.w + x) * a.cin;
      for (int c0 = 0; c0 < a.cin; c0 += V) {
        const L xv = *reinterpret_cast<const L*>(px + c0);
#pragma unroll
        for (int c = 0; c < V; ++c) fma_lanes<V>(acc, to_float(xv.v[c]), w1s + (c0 + c) * a.cmid + g * V);
      }
    }
    L m;
#pragma unroll
    for (int j = 0; j < V; ++j) m.v[j] = from_float<T>(acc[j]);
    *reinterpret_cast<L*>(mid + p * a.cmid + g * V) = m;
  }
  __syncthreads();

  // The depthwise conv: V channels of one output pixel per item.
  for (int i = threadIdx.x; i < a.tile_h * a.tile_w * groups; i += blockDim.x) {
    const int g = i % groups, p = i / groups;
    const int ty = p / a.tile_w, tx = p % a.tile_w;
    const int oy = y0 + 1 + ty, ox = x0 + 1 + tx;
    if (oy >= a.h || ox >= a.w) continue;
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = b2[g * V + j];
#pragma unroll
    for (int r = 0; r < 3; ++r)
#pragma unroll
      for (int q = 0; q < 3; ++q) {
        const L m = *reinterpret_cast<const L*>(mid + ((ty + r) * border_w + tx + q) * a.cmid + g * V);
        const float* wt = w2 + (r * 3 + q) * a.cmid + g * V;
#pragma unroll
        for (int j = 0; j < V; ++j) acc[j] = fmaf(to_float(m.v[j]), __ldg(wt + j), acc[j]);
      }
    L o;
#pragma unroll
    for (int j = 0; j < V; ++j) o.v[j] = from_float<T>(activate(acc[j], act));
    *reinterpret_cast<L*>(out + (image + static_cast<size_t>(oy) * a.w + ox) * a.cmid + g * V) = o;
  }
}

class PointwiseDepthwiseStep : public Step {
 public:
  int in = 0, out = 0;
  int n = 0;
  Args args{};
  ConvAct act = ConvAct::kNone;
  const float *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const dim3 grid((args.w + args.tile_w - 1) / args.tile_w, (args.h + args.tile_h - 1) / args.tile_h, n);
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      launch_kernel(pointwise_depthwise_kernel<T>, grid, kThreads, shared_bytes(args, sizeof(T)), stream,
                    static_cast<const T*>(st.ptr[in]), w1, b1, w2, b2, static_cast<T*>(st.ptr[out]), args, act);
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": pointwise_depthwise");
  }
};

// The 3x3 depthwise conv of `channels` channels, stride 1, padding 1, that `n` feeds alone.
const ir::Node* depthwise_after(const PlanBuilder& b, const ir::Node& n, int64_t channels) {
  const ir::Node* dw = sole_op(b, &n, {"Conv"});
  if (!dw || dw->attr_int("group", 1) != channels) return nullptr;
  const ir::Tensor* w = b.constant_input(*dw, 1);
  if (!w || w->rank() != 4 || w->dim(0) != channels || w->dim(1) != 1 || w->dim(2) != 3 || w->dim(3) != 3)
    return nullptr;
  if (dw->input(2) && !b.constant_input(*dw, 2)) return nullptr;
  if (dw->attr_ints("strides", {1, 1}) != std::vector<int64_t>{1, 1} ||
      dw->attr_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1} ||
      dw->attr_ints("pads", {0, 0, 0, 0}) != std::vector<int64_t>{1, 1, 1, 1} ||
      dw->attr_string("auto_pad", "NOTSET") != "NOTSET")
    return nullptr;
  return dw;
}

// The largest tile (8x16, 8x8, 4x8) that gives kWantBlocks blocks and fits in shared memory.
Tile choose_tile(int64_t n, Args a, size_t elem) {
  Tile chosen{0, 0};
  for (const Tile t : {Tile{8, 16}, Tile{8, 8}, Tile{4, 8}}) {
    a.tile_h = t.h, a.tile_w = t.w;
    if (shared_bytes(a, elem) > kMaxSharedBytes) continue;
    chosen = t;
    const int64_t blocks = n * ((a.h + t.h - 1) / t.h) * ((a.w + t.w - 1) / t.w);
    if (blocks >= kWantBlocks) break;
  }
  return chosen;
}

}  // namespace

Result<bool> plan_pointwise_depthwise(PlanBuilder& b, const ir::Node& pw) {
  if (b.options().direct_conv) return false;
  const ir::Tensor* w1 = pointwise_weight(b, &pw);
  if (!w1 || pw.input(0)->is_constant() || pw.attr_ints("strides", {1, 1}) != std::vector<int64_t>{1, 1} ||
      pw.attr_string("auto_pad", "NOTSET") != "NOTSET")
    return false;
  const int64_t cin = w1->dim(1), cmid = w1->dim(0);
  const ir::Node* dw = depthwise_after(b, pw, cmid);
  if (!dw) return false;
  const ir::Node* act_node = sole_op(b, dw, {"Relu", "SiLU", "Sigmoid"});
  const ConvAct act = !act_node                     ? ConvAct::kNone
                      : act_node->op_type == "Relu" ? ConvAct::kRelu
                      : act_node->op_type == "SiLU" ? ConvAct::kSiLU
                                                    : ConvAct::kSigmoid;
  // One activation dtype across the nodes (an FP16 engine's FP32 tail may start among them).
  const ir::DType type = b.act_dtype();
  if (b.act_dtype_of(dw) != type || (act_node && b.act_dtype_of(act_node) != type)) return false;
  auto dims = b.dims_of(pw, pw.input(0));
  if (!dims.ok() || dims->size() != 4 || (*dims)[1] != cin) return false;
  const int64_t n = (*dims)[0], h = (*dims)[2], w = (*dims)[3];
  // Whole 16-byte vectors of channels; a grid of at most 65535 images; 32-bit pixel indices.
  if (cin % 8 || cmid % 8 || cin > kMaxChannels || cmid > kMaxChannels || n > 65535 ||
      n * h * w * std::max(cin, cmid) >= (int64_t{1} << 31))
    return false;
  const size_t elem = ir::dtype_size(type);
  Args args{static_cast<int>(h), static_cast<int>(w), static_cast<int>(cin), static_cast<int>(cmid), 0, 0};
  const Tile tile = choose_tile(n, args, elem);
  if (tile.h == 0) return false;
  args.tile_h = tile.h, args.tile_w = tile.w;

  auto step = std::make_unique<PointwiseDepthwiseStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(pw, 0, Layout::kNHWC));
  if (b.slot(step->in).offset % 16 != 0) return false;  // the kernel reads 16-byte vectors
  // 1x1 weights [cmid][cin] -> [cin][cmid]; depthwise [cmid][1][3][3] -> [3][3][cmid].
  const ir::Tensor f1 = w1->to_float32(), f2 = b.constant_input(*dw, 1)->to_float32();
  std::vector<float> w1t(static_cast<size_t>(cin * cmid)), w2t(static_cast<size_t>(9 * cmid));
  for (int64_t k = 0; k < cmid; ++k) {
    for (int64_t c = 0; c < cin; ++c) w1t[c * cmid + k] = f1.data<float>()[k * cin + c];
    for (int64_t t = 0; t < 9; ++t) w2t[t * cmid + k] = f2.data<float>()[k * 9 + t];
  }
  const std::vector<float> b2 = bias_of(b, *dw, cmid);
  KILN_ASSIGN_OR_RETURN(const void* pw1, b.upload(w1t.data(), w1t.size() * sizeof(float), pw.name + " weights"));
  KILN_ASSIGN_OR_RETURN(const void* pw2, b.upload(w2t.data(), w2t.size() * sizeof(float), dw->name + " weights"));
  KILN_ASSIGN_OR_RETURN(const void* pb2, b.upload(b2.data(), b2.size() * sizeof(float), dw->name + " bias"));
  if (b.constant_input(pw, 2)) {
    const std::vector<float> b1 = bias_of(b, pw, cmid);
    KILN_ASSIGN_OR_RETURN(const void* pb1, b.upload(b1.data(), b1.size() * sizeof(float), pw.name + " bias"));
    step->b1 = static_cast<const float*>(pb1);
  }
  step->w1 = static_cast<const float*>(pw1), step->w2 = static_cast<const float*>(pw2);
  step->b2 = static_cast<const float*>(pb2);
  step->n = static_cast<int>(n);
  step->args = args;
  step->act = act;
  step->type = type;
  const ir::Value* out_value = act_node ? act_node->outputs[0] : dw->outputs[0];
  step->out = b.define(out_value, {n, cmid, h, w}, Layout::kNHWC);
  b.skip_node(dw);
  if (act_node) b.skip_node(act_node);
  b.stats().convs += 2;
  step->describe(pw, "pointwise_depthwise", {step->in}, {step->out});
  b.add_step(std::move(step));
  return true;
}

}  // namespace kiln::cuda
