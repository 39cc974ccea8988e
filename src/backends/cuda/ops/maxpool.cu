// MaxPool, NHWC (2-D pooling; ceil_mode 0). YOLO's SPPF block (three chained stride-1
// pools and the Concat of their input and outputs) runs as one kernel: chained "same"
// pools of radius r equal single pools of radius r, 2r, 3r (windows clipped to the image),
// so one pass over the 3r window computes all three and writes the concat directly.
#include <cfloat>
#include <optional>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/pool_geometry.h"
#include "backends/cuda/ops/pool_lanes.cuh"
#include "backends/cuda/plan.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void maxpool_kernel(const T* __restrict__ in, T* __restrict__ out, PoolShape s) {
  begin_kernel();
  const int64_t total = s.n * s.oh * s.ow * s.c;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, oy, ox, c] = nhwc_pos(i, s.oh, s.ow, s.c);
    float m = -FLT_MAX;
    for_each_tap(pool_window(s), oy, ox, [&](int64_t, int64_t, int64_t y, int64_t x) {
      m = fmaxf(m, to_float(in[((n * s.h + y) * s.w + x) * s.c + c]));
    });
    out[i] = from_float<T>(m);
  }
}

// Elementwise max of two 8-byte vectors of T.
__device__ __forceinline__ uint2 vmax(uint2 a, uint2 b, float) {
  return make_uint2(__float_as_uint(fmaxf(__uint_as_float(a.x), __uint_as_float(b.x))),
                    __float_as_uint(fmaxf(__uint_as_float(a.y), __uint_as_float(b.y))));
}
__device__ __forceinline__ unsigned hmax2(unsigned a, unsigned b) {
  __half2 r = __hmax2(*reinterpret_cast<const __half2*>(&a), *reinterpret_cast<const __half2*>(&b));
  return *reinterpret_cast<unsigned*>(&r);
}
__device__ __forceinline__ uint2 vmax(uint2 a, uint2 b, __half) { return make_uint2(hmax2(a.x, b.x), hmax2(a.y, b.y)); }

// One thread per (pixel, 8-byte channel vector); cv = channels / vector width. kR > 0 fixes
// the radius at compile time (SPPF's 5-wide pools: 2) so the window loops unroll and the
// loads overlap; 0 takes it from r. 32-bit indexing (the launcher checks).
template <typename T, int kR>
__global__ void sppf_kernel(const uint2* __restrict__ in, uint2* __restrict__ out, int n, int h, int w, int cv,
                            int r_arg) {
  begin_kernel();
  const int r = kR > 0 ? kR : r_arg;
  const int total = n * h * w * cv;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int v = i % cv;
    const int pixel = i / cv;
    const int x = pixel % w;
    const int y = (pixel / w) % h;
    const uint2* img = in + (pixel / (w * h)) * h * w * cv + v;
    const uint2 center = __ldg(img + (y * w + x) * cv);
    uint2 m1 = center, m2 = center, m3 = center;
#pragma unroll
    for (int dy = -3 * r; dy <= 3 * r; ++dy) {
      const int yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      const int ady = dy < 0 ? -dy : dy;
#pragma unroll
      for (int dx = -3 * r; dx <= 3 * r; ++dx) {
        const int xx = x + dx;
        if (xx < 0 || xx >= w) continue;
        const int adx = dx < 0 ? -dx : dx;
        const uint2 val = __ldg(img + (yy * w + xx) * cv);
        m3 = vmax(m3, val, T{});
        if (ady <= 2 * r && adx <= 2 * r) {
          m2 = vmax(m2, val, T{});
          if (ady <= r && adx <= r) m1 = vmax(m1, val, T{});
        }
      }
    }
    uint2* o = out + pixel * 4 * cv + v;
    o[0] = center;
    o[cv] = m1;
    o[2 * cv] = m2;
    o[3 * cv] = m3;
  }
}

class SppfStep : public Step {
 public:
  int in = 0, out = 0;
  int64_t n = 0, h = 0, w = 0, c = 0, radius = 0;
  ir::DType type{};
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    Status s = launch_sppf_nhwc(st.ptr[in], st.ptr[out], type, n, h, w, c, radius, stream);
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

// Radius r of a stride-1 MaxPool with a (2r+1)-square window and "same" padding; -1 for
// any other node.
int64_t same_pool_radius(const ir::Node& node) {
  if (node.op_type != "MaxPool" || node.attr_int("ceil_mode", 0) != 0 ||
      node.attr_string("auto_pad", "NOTSET") != "NOTSET" || (node.outputs.size() > 1 && node.outputs[1]))
    return -1;
  const auto k = node.attr_ints("kernel_shape");
  if (k.size() != 2 || k[0] != k[1] || k[0] % 2 == 0) return -1;
  const int64_t r = k[0] / 2;
  if (node.attr_ints("strides", {1, 1}) != std::vector<int64_t>{1, 1} ||
      node.attr_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1} ||
      node.attr_ints("pads", {0, 0, 0, 0}) != std::vector<int64_t>{r, r, r, r})
    return -1;
  return r;
}

struct Sppf {
  const ir::Node* pools[3] = {};
  const ir::Node* concat = nullptr;
  int64_t radius = 0;
};

// x -> MaxPool -> p1 -> MaxPool -> p2 -> MaxPool -> p3 and Concat(x, p1, p2, p3) on the
// channel axis, the pools alike, p1..p3 used by nothing else: the SPPF starting at `first`.
std::optional<Sppf> match_sppf(const PlanBuilder& b, const ir::Node& first) {
  Sppf m;
  m.radius = same_pool_radius(first);
  if (m.radius <= 0 || first.outputs.empty()) return std::nullopt;
  m.pools[0] = &first;
  for (int i = 0; i < 3; ++i) {
    const ir::Value* p = m.pools[i]->outputs[0];
    if (!p || b.graph().is_graph_output(p)) return std::nullopt;
    const auto users = b.graph().consumers(p);
    if (users.size() != (i < 2 ? 2u : 1u)) return std::nullopt;
    for (const ir::Node* u : users) {
      if (u->op_type == "Concat" && (!m.concat || m.concat == u)) m.concat = u;
      else if (i < 2 && same_pool_radius(*u) == m.radius) m.pools[i + 1] = u;
      else return std::nullopt;
    }
    if (!m.concat || (i < 2 && !m.pools[i + 1])) return std::nullopt;
  }
  const ir::Node& cat = *m.concat;
  const std::vector<const ir::Value*> want = {first.input(0), m.pools[0]->outputs[0], m.pools[1]->outputs[0],
                                              m.pools[2]->outputs[0]};
  if (cat.outputs.size() != 1 || std::vector<const ir::Value*>(cat.inputs.begin(), cat.inputs.end()) != want)
    return std::nullopt;
  const int64_t axis = cat.attr_int("axis", 0);
  if (axis != 1 && axis != -3) return std::nullopt;
  return m;
}

Status plan_sppf(PlanBuilder& b, const ir::Node& first, const Sppf& m) {
  auto step = std::make_unique<SppfStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(first, 0, Layout::kNHWC));
  const Slot src = b.slot(step->in);
  step->n = src.dims[0];
  step->c = src.dims[1];
  step->h = src.dims[2];
  step->w = src.dims[3];
  step->radius = m.radius;
  step->type = src.dtype;
  step->out = b.define(m.concat->outputs[0], {step->n, 4 * step->c, step->h, step->w}, Layout::kNHWC);
  step->describe(first, "sppf_nhwc", {step->in}, {step->out});
  step->op = "MaxPool (SPPF)";
  b.skip_node(m.pools[1]);
  b.skip_node(m.pools[2]);
  b.skip_node(m.concat);
  b.add_step(std::move(step));
  return Status::Ok();
}

class MaxPoolStep : public Step {
 public:
  int in = 0, out = 0;
  PoolShape shape{};
  ir::DType type{};
  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    Status s = launch_maxpool_nhwc(st.ptr[in], st.ptr[out], type, shape, stream);
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

}  // namespace

Status launch_maxpool_nhwc(const void* in, void* out, ir::DType type, const PoolShape& s, cudaStream_t stream) {
  const int64_t total = s.n * s.oh * s.ow * s.c;
  if (total == 0) return Status::Ok();
  bool ok = dispatch_float(type, [&](auto t) {
    using T = decltype(t);
    if (const int v = pool_lanes<T>(s, in, out))
      launch_kernel(pool_lanes_kernel<T, true>, grid_for(total / v), kThreads, 0, stream, static_cast<const uint2*>(in),
                    static_cast<uint2*>(out), pool_lanes_args(s, v));
    else
      launch_kernel(maxpool_kernel<T>, grid_for(total), kThreads, 0, stream, static_cast<const T*>(in),
                    static_cast<T*>(out), s);
  });
  if (!ok) return error(StatusCode::kUnsupported, "maxpool: dtype ", ir::dtype_name(type));
  return launch_status("maxpool");
}

bool sppf_fits(ir::DType type, int64_t c) {
  return (type == ir::DType::kFloat16 && c % 4 == 0) || (type == ir::DType::kFloat32 && c % 2 == 0);
}

Status launch_sppf_nhwc(const void* in, void* out, ir::DType type, int64_t n, int64_t h, int64_t w, int64_t c,
                        int64_t radius, cudaStream_t stream) {
  if (!sppf_fits(type, c)) return error(StatusCode::kUnsupported, "sppf: ", c, " channels of ", ir::dtype_name(type));
  const int64_t cv = c * static_cast<int64_t>(ir::dtype_size(type)) / 8;
  const int64_t total = n * h * w * cv;
  if (total == 0) return Status::Ok();
  if (4 * total >= (int64_t{1} << 31)) return error(StatusCode::kUnsupported, "sppf: tensor too large");
  const auto args = [&](auto t) {
    using T = decltype(t);
    const auto* src = static_cast<const uint2*>(in);
    auto* dst = static_cast<uint2*>(out);
    const int ni = static_cast<int>(n), hi = static_cast<int>(h), wi = static_cast<int>(w), ci = static_cast<int>(cv);
    if (radius == 2)
      launch_kernel(sppf_kernel<T, 2>, grid_for(total), kThreads, 0, stream, src, dst, ni, hi, wi, ci, 2);
    else
      launch_kernel(sppf_kernel<T, 0>, grid_for(total), kThreads, 0, stream, src, dst, ni, hi, wi, ci,
                    static_cast<int>(radius));
  };
  bool ok = dispatch_float(type, args);
  if (!ok) return error(StatusCode::kUnsupported, "sppf: dtype ", ir::dtype_name(type));
  return launch_status("sppf");
}

Status plan_maxpool(PlanBuilder& b, const ir::Node& node) {
  if (auto m = match_sppf(b, node)) {
    auto x = b.dims_of(node, node.input(0));
    if (x.ok() && x->size() == 4 && sppf_fits(b.act_dtype(), (*x)[1])) return plan_sppf(b, node, *m);
  }
  if (node.attr_int("ceil_mode", 0) != 0) return error(StatusCode::kUnsupported, "ceil_mode=1");
  if (node.outputs.size() > 1 && node.outputs[1]) return error(StatusCode::kUnsupported, "Indices output");
  auto step = std::make_unique<MaxPoolStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
  const Slot src = b.slot(step->in);
  KILN_ASSIGN_OR_RETURN(const PoolGeometry g, pool_geometry(node, src.dims));
  const PoolShape& s = step->shape = g.s;
  step->out = b.define(node.outputs[0], {s.n, s.c, s.oh, s.ow}, Layout::kNHWC);
  step->type = src.dtype;
  step->describe(node, "maxpool_nhwc", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
