// ConvTranspose, 2-D, NHWC, bias fused, FP32 accumulation; two kernels of our own.
// Upsample form (stride == kernel, no pads, dilation 1, group 1, no output_padding; the
// segment head's proto upsample): each input pixel feeds its own R x S output block, so
// output = input pixels [P, C] x weights [C, R*S*K], scattered. A block takes 16 input
// pixels into shared memory; each thread owns one (r, s, k) column, reads each weight once
// and applies it to all 16 pixels. Anything else: a gather kernel, one thread per output
// element: output (oy, ox) takes input (iy, ix) through tap (r, s) when
// oy + pad_top - r*dil = iy*stride (same along x), weights laid out [r][s][c][k in group]
// so neighbouring threads (output channels) read neighbouring weights.
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/dependent_launch.cuh"
#include "backends/cuda/device_util.cuh"
#include "backends/cuda/plan.h"
#include "core/half.h"

namespace kiln::cuda {
namespace {

struct DeconvShape {
  int64_t n, h, w, c, k, oh, ow, r, s, sh, sw, ph, pw, dh, dw, groups;
};

template <typename T>
__global__ void conv_transpose_kernel(const T* __restrict__ in, const T* __restrict__ weight,
                                      const float* __restrict__ bias, T* __restrict__ out, DeconvShape d) {
  begin_kernel();
  const int64_t total = d.n * d.oh * d.ow * d.k;
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const auto [n, oy, ox, k] = nhwc_pos(i, d.oh, d.ow, d.k);
    const int64_t g = k / kg, kk = k % kg;
    float acc = bias ? bias[k] : 0.f;
    for (int64_t r = 0; r < d.r; ++r) {
      const int64_t ty = oy + d.ph - r * d.dh;
      if (ty < 0 || ty % d.sh) continue;
      const int64_t iy = ty / d.sh;
      if (iy >= d.h) continue;
      for (int64_t s = 0; s < d.s; ++s) {
        const int64_t tx = ox + d.pw - s * d.dw;
        if (tx < 0 || tx % d.sw) continue;
        const int64_t ix = tx / d.sw;
        if (ix >= d.w) continue;
        const T* x = in + ((n * d.h + iy) * d.w + ix) * d.c + g * cg;
        const T* wt = weight + ((r * d.s + s) * d.c + g * cg) * kg + kk;
        for (int64_t c = 0; c < cg; ++c) acc += to_float(x[c]) * to_float(wt[c * kg]);
      }
    }
    out[i] = from_float<T>(acc);
  }
}

constexpr int kUpsamplePixels = 16;   // input pixels per block
constexpr int kUpsampleThreads = 256;  // (r, s, k) columns per block
constexpr int64_t kUpsampleMaxC = 512; // shared tile: 16 x 512 floats = 32 KiB

// Weights [C][R*S*K] (column j = (r*S + s)*K + k). Grid: (pixel tiles, column tiles).
template <typename T>
__global__ void conv_transpose_upsample_kernel(const T* __restrict__ in, const T* __restrict__ weight,
                                               const float* __restrict__ bias, T* __restrict__ out, DeconvShape d) {
  begin_kernel();
  __shared__ __align__(16) float tile[kUpsampleMaxC * kUpsamplePixels];  // [c][pixel]
  const int c_n = static_cast<int>(d.c);
  const int64_t pixels = d.n * d.h * d.w;
  const int64_t p0 = int64_t(blockIdx.x) * kUpsamplePixels;
  const int np = static_cast<int>(pixels - p0 < kUpsamplePixels ? pixels - p0 : kUpsamplePixels);
  // The tile's pixels are consecutive NHWC pixels: one contiguous run of np * C values.
  for (int e = threadIdx.x; e < kUpsamplePixels * c_n; e += blockDim.x) {
    const int p = e / c_n, c = e % c_n;
    tile[c * kUpsamplePixels + p] = p < np ? to_float(in[p0 * c_n + e]) : 0.f;
  }
  __syncthreads();
  const int64_t cols = d.r * d.s * d.k;
  const int64_t j = int64_t(blockIdx.y) * blockDim.x + threadIdx.x;
  if (j >= cols) return;
  float acc[kUpsamplePixels];
#pragma unroll
  for (int p = 0; p < kUpsamplePixels; ++p) acc[p] = 0.f;
  // Unrolled so that several weight loads are in flight at once (each is used 16 times).
#pragma unroll 8
  for (int c = 0; c < c_n; ++c) {
    const float wv = to_float(weight[c * cols + j]);
    const float4* t = reinterpret_cast<const float4*>(tile + c * kUpsamplePixels);
#pragma unroll
    for (int q = 0; q < kUpsamplePixels / 4; ++q) {
      const float4 x = t[q];
      acc[4 * q] += x.x * wv;
      acc[4 * q + 1] += x.y * wv;
      acc[4 * q + 2] += x.z * wv;
      acc[4 * q + 3] += x.w * wv;
    }
  }
  const int64_t k = j % d.k, rs = j / d.k, r = rs / d.s, s = rs % d.s;
  const float b = bias ? bias[k] : 0.f;
#pragma unroll
  for (int p = 0; p < kUpsamplePixels; ++p) {
    if (p >= np) break;
    const int64_t pix = p0 + p;
    const int64_t ix = pix % d.w, iy = (pix / d.w) % d.h, n = pix / (d.w * d.h);
    const int64_t oy = iy * d.sh + r, ox = ix * d.sw + s;
    out[((n * d.oh + oy) * d.ow + ox) * d.k + k] = from_float<T>(acc[p] + b);
  }
}

class ConvTransposeStep : public Step {
 public:
  int in = 0, out = 0;
  DeconvShape shape{};
  bool upsample = false;         // which kernel (and weight layout)
  const void* weight = nullptr;  // upsample: [c][r][s][k]; else [r][s][c][k within group]; activation dtype
  const float* bias = nullptr;   // FP32 or null
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const int64_t total = shape.n * shape.oh * shape.ow * shape.k;
    if (total == 0) return Status::Ok();
    bool ok = dispatch_float(type, [&](auto t) {
      using T = decltype(t);
      const auto* x = static_cast<const T*>(st.ptr[in]);
      const auto* w = static_cast<const T*>(weight);
      auto* y = static_cast<T*>(st.ptr[out]);
      if (upsample) {
        const int64_t pixels = shape.n * shape.h * shape.w, cols = shape.r * shape.s * shape.k;
        const dim3 grid(static_cast<unsigned>((pixels + kUpsamplePixels - 1) / kUpsamplePixels),
                        static_cast<unsigned>((cols + kUpsampleThreads - 1) / kUpsampleThreads));
        launch_kernel(conv_transpose_upsample_kernel<T>, grid, kUpsampleThreads, 0, stream, x, w, bias, y, shape);
      } else {
        launch_kernel(conv_transpose_kernel<T>, grid_for(total), kThreads, 0, stream, x, w, bias, y, shape);
      }
    });
    if (!ok) return error(StatusCode::kUnsupported, name, ": dtype ", ir::dtype_name(type));
    return launch_status(name + ": conv_transpose");
  }
};

}  // namespace

Status plan_conv_transpose(PlanBuilder& b, const ir::Node& node) {
  const ir::Tensor* w = b.constant_input(node, 1);
  if (!w || w->rank() != 4) return error(StatusCode::kUnsupported, "weights must be a constant 4-D tensor");
  if (node.input(2) && !b.constant_input(node, 2)) return error(StatusCode::kUnsupported, "bias must be constant");
  if (node.attr_string("auto_pad", "NOTSET") != "NOTSET") return error(StatusCode::kUnsupported, "auto_pad");
  if (!node.attr_ints("output_shape").empty()) return error(StatusCode::kUnsupported, "output_shape attribute");
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto pads = node.attr_ints("pads", {0, 0, 0, 0});
  const auto dil = node.attr_ints("dilations", {1, 1});
  const auto out_pad = node.attr_ints("output_padding", {0, 0});
  if (strides.size() != 2 || pads.size() != 4 || dil.size() != 2 || out_pad.size() != 2)
    return error(StatusCode::kUnsupported, "only 2-D ConvTranspose");

  auto step = std::make_unique<ConvTransposeStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
  const Slot src = b.slot(step->in);
  DeconvShape& d = step->shape;
  d.n = src.dims[0];
  d.c = src.dims[1];
  d.h = src.dims[2];
  d.w = src.dims[3];
  d.groups = node.attr_int("group", 1);
  if (d.groups <= 0 || w->dim(0) != d.c || d.c % d.groups)
    return error(StatusCode::kInvalidArgument, "weights ", ir::shape_to_string(w->shape()), " do not fit input ",
                 ir::shape_to_string(src.dims), " with group ", d.groups);
  const int64_t kg = w->dim(1);
  d.k = kg * d.groups;
  d.r = w->dim(2);
  d.s = w->dim(3);
  d.sh = strides[0];
  d.sw = strides[1];
  d.ph = pads[0];
  d.pw = pads[1];
  d.dh = dil[0];
  d.dw = dil[1];
  d.oh = d.sh * (d.h - 1) + out_pad[0] + (d.r - 1) * d.dh + 1 - pads[0] - pads[2];
  d.ow = d.sw * (d.w - 1) + out_pad[1] + (d.s - 1) * d.dw + 1 - pads[1] - pads[3];
  if (d.oh <= 0 || d.ow <= 0 || d.sh <= 0 || d.sw <= 0)
    return error(StatusCode::kInvalidArgument, "output size would be ", d.oh, "x", d.ow);

  step->upsample = d.sh == d.r && d.sw == d.s && d.dh == 1 && d.dw == 1 && d.groups == 1 && out_pad[0] == 0 &&
                   out_pad[1] == 0 && pads[0] == 0 && pads[1] == 0 && pads[2] == 0 && pads[3] == 0 &&
                   d.c <= kUpsampleMaxC && d.n * d.h * d.w < (int64_t(1) << 31) / kUpsamplePixels;

  // Weights [C, K/group, R, S] -> [C][R][S][K] (upsample) or [R][S][C][K/group], in the
  // activation dtype; bias in FP32.
  ir::Tensor wf = w->to_float32();
  std::vector<float> rsck(static_cast<size_t>(wf.numel()));
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t kk = 0; kk < kg; ++kk)
      for (int64_t r = 0; r < d.r; ++r)
        for (int64_t s = 0; s < d.s; ++s)
          rsck[step->upsample ? ((c * d.r + r) * d.s + s) * kg + kk : ((r * d.s + s) * d.c + c) * kg + kk] =
              wf.data<float>()[((c * kg + kk) * d.r + r) * d.s + s];
  if (b.act_dtype() == ir::DType::kFloat16) {
    std::vector<uint16_t> h(rsck.size());
    for (size_t i = 0; i < rsck.size(); ++i) h[i] = kiln::float_to_half(rsck[i]);
    KILN_ASSIGN_OR_RETURN(step->weight, b.upload(h.data(), h.size() * 2, node.name + " weights"));
  } else {
    KILN_ASSIGN_OR_RETURN(step->weight, b.upload(rsck.data(), rsck.size() * 4, node.name + " weights"));
  }
  if (const ir::Tensor* bt = b.constant_input(node, 2)) {
    ir::Tensor bf = bt->to_float32();
    if (bf.numel() != d.k)
      return error(StatusCode::kInvalidArgument, "bias has ", bf.numel(), " values for ", d.k, " channels");
    KILN_ASSIGN_OR_RETURN(const void* bias, b.upload(bf.data<float>(), static_cast<size_t>(d.k) * 4, node.name + " bias"));
    step->bias = static_cast<const float*>(bias);
  }
  step->out = b.define(node.outputs[0], {d.n, d.k, d.oh, d.ow}, Layout::kNHWC);
  step->type = src.dtype;
  step->describe(node, step->upsample ? "conv_transpose_upsample" : "conv_transpose_gather", {step->in}, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
