// Launchers for kiln's own CUDA kernels (implemented in ops/*.cu). Pointers already point
// at the first element; dims and strides are in elements, in logical (ONNX) dim order.
// Each launcher checks its launch and returns a Status naming the kernel.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "ir/dtype.h"
#include "kiln/status.h"

namespace kiln::cuda {

inline constexpr int kMaxRank = 6;

// out[Σ i_d*out_strides[d]] = convert(in[Σ i_d*in_strides[d]]) for every index of `dims`.
// One kernel for copies, dtype conversion, layout changes, transpose, slice, concat, split.
Status launch_strided_copy(const void* in, ir::DType in_type, void* out, ir::DType out_type,
                           const std::vector<int64_t>& dims, const std::vector<int64_t>& in_strides,
                           const std::vector<int64_t>& out_strides, cudaStream_t stream);

// Several copies of one dtype (no conversion) in one launch, e.g. the operands of a Concat.
struct CopyDesc {
  const void* in;
  void* out;
  std::vector<int64_t> dims, in_strides, out_strides;
};
Status launch_strided_copies(const std::vector<CopyDesc>& copies, ir::DType type, cudaStream_t stream);

enum class UnaryOp { kSigmoid, kSiLU, kRelu, kCos, kSin };
Status launch_unary(UnaryOp op, const void* in, void* out, ir::DType type, int64_t n, cudaStream_t stream);

enum class BinaryOp { kAdd, kSub, kMul, kDiv };
// Broadcasting: a stride of 0 repeats an input along that dim.
Status launch_binary(BinaryOp op, const void* a, const void* b, void* out, ir::DType type,
                     const std::vector<int64_t>& dims, const std::vector<int64_t>& a_strides,
                     const std::vector<int64_t>& b_strides, const std::vector<int64_t>& out_strides,
                     cudaStream_t stream);

// x[i] = act(x[i] + bias[i % channels]) in place, for channel-last data; bias may be null.
Status launch_bias_act(void* x, const float* bias, int64_t n, int64_t channels, bool silu, ir::DType type,
                       cudaStream_t stream);

struct PoolShape {
  int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
};
Status launch_maxpool_nhwc(const void* in, void* out, ir::DType type, const PoolShape& s, cudaStream_t stream);

// YOLO's SPPF block in one pass: x (NHWC, c channels) and its max pools of stride 1 over
// windows of radius r, 2r and 3r (three chained (2r+1)-wide pools), written side by side
// as the 4c-channel NHWC concat [x, pool1, pool2, pool3]. c must be a multiple of 8 bytes'
// worth of elements (sppf_fits).
bool sppf_fits(ir::DType type, int64_t c);
Status launch_sppf_nhwc(const void* in, void* out, ir::DType type, int64_t n, int64_t h, int64_t w, int64_t c,
                        int64_t radius, cudaStream_t stream);

// Nearest resize, NHWC, asymmetric coordinates with floor: src = min(floor(dst / scale), size-1).
Status launch_resize_nearest_nhwc(const void* in, void* out, ir::DType type, int64_t n, int64_t h, int64_t w,
                                  int64_t c, int64_t oh, int64_t ow, float scale_h, float scale_w,
                                  cudaStream_t stream);

// Softmax over the middle dim of [outer, axis, inner] (contiguous); FP32 math.
Status launch_softmax(const void* in, void* out, ir::DType type, int64_t outer, int64_t axis, int64_t inner,
                      cudaStream_t stream);

struct ConvShape {
  int64_t n, h, w, c, k, oh, ow, r, s, sh, sw, ph, pw, dh, dw, groups;
};
// The activation applied after a conv's bias. A fused cuDNN graph and our depthwise kernel
// and our depthwise and stem kernels apply any of them; our bias/activation and direct
// kernels only SiLU, so a ReLU or Sigmoid (OSNet's convs and channel gates) after those stays
// a step of its own.
enum class ConvAct : uint8_t { kNone, kSiLU, kRelu, kSigmoid };

// Direct convolution, NHWC input/output, KRSC weights (weights in `type`), FP32 accumulate,
// optional bias (FP32) and SiLU. The always-available fallback when cuDNN has no engine.
Status launch_conv_direct_nhwc(const void* in, const void* weight, const float* bias, void* out, ir::DType type,
                               const ConvShape& s, bool silu, cudaStream_t stream);

// Depthwise convolution (groups == input channels == output channels), packed NHWC input
// and output, weights [R][S][K] in `type`, FP32 bias and accumulation, `act` fused.
Status launch_conv_depthwise_nhwc(const void* in, const void* weight, const float* bias, void* out, ir::DType type,
                                  const ConvShape& s, ConvAct act, cudaStream_t stream);
// Fits: groups == channels == output channels > 1, tensors within 32-bit indexing.
bool conv_depthwise_fits(const ConvShape& s);

// Direct convolution straight from an FP32 NCHW tensor (the graph input) to an NHWC output
// in `out_type`: the stem conv without a separate layout/dtype convert. Optional FP32 bias,
// `act` fused. Only for groups 1, few input channels and a whole number of 8-channel output
// groups (conv_nchw_input_fits). Weights KCRS FP32; with `tensor_cores` (FP16 output, compute
// capability 8.0 or later, conv_nchw_input_mma_fits) the form conv_nchw_input_mma_weights
// makes, inputs and weights rounded to FP16 for the tensor cores.
// out_type kInt8 (FMA kernel only): the activated output quantized per tensor as
// QuantizeLinear does (divide by scale, round half to even, add the zero point, saturate).
struct OutputQuant {
  float scale = 1.f;
  int32_t zero_point = 0;
};
inline constexpr int64_t kConvNchwInputMaxChannels = 4;
inline constexpr int64_t kConvNchwInputMaxWeightBytes = 48 * 1024;  // shared memory per block
bool conv_nchw_input_fits(const ConvShape& s);
bool conv_nchw_input_mma_fits(const ConvShape& s);
std::vector<uint16_t> conv_nchw_input_mma_weights(const ConvShape& s, const float* kcrs);  // FP16 bits
Status launch_conv_nchw_input(const float* in, const void* weight, const float* bias, void* out, ir::DType out_type,
                              const ConvShape& s, ConvAct act, bool tensor_cores, const OutputQuant& quant,
                              cudaStream_t stream);

}  // namespace kiln::cuda
