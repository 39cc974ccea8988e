// Every CPU kernel, one per ONNX op (plus kiln's SiLU). registry.cpp maps op types here.
#pragma once

#include "backends/cpu/kernel.h"

namespace kiln::cpu::ops {

// Elementwise (elementwise_binary.cpp, elementwise_unary.cpp).
Status add(KernelContext& ctx);
Status sub(KernelContext& ctx);
Status mul(KernelContext& ctx);
Status div(KernelContext& ctx);
Status sigmoid(KernelContext& ctx);
Status relu(KernelContext& ctx);
Status silu(KernelContext& ctx);
Status cos(KernelContext& ctx);
Status sin(KernelContext& ctx);

// Shape and data movement.
Status cast(KernelContext& ctx);
Status concat(KernelContext& ctx);
Status constant_of_shape(KernelContext& ctx);
Status expand(KernelContext& ctx);
Status flatten(KernelContext& ctx);
Status gather(KernelContext& ctx);
Status identity(KernelContext& ctx);
Status range(KernelContext& ctx);
Status reshape(KernelContext& ctx);
Status shape(KernelContext& ctx);
Status slice(KernelContext& ctx);
Status split(KernelContext& ctx);
Status transpose(KernelContext& ctx);
Status unsqueeze(KernelContext& ctx);

// Neural-network ops.
Status average_pool(KernelContext& ctx);
Status batch_normalization(KernelContext& ctx);
Status conv(KernelContext& ctx);
Status conv_integer(KernelContext& ctx);
Status conv_transpose(KernelContext& ctx);
Status gemm(KernelContext& ctx);
Status global_average_pool(KernelContext& ctx);
Status matmul(KernelContext& ctx);
Status max_pool(KernelContext& ctx);
Status reduce_mean(KernelContext& ctx);
Status resize(KernelContext& ctx);
Status softmax(KernelContext& ctx);

// Quantization.
Status dequantize_linear(KernelContext& ctx);
Status dynamic_quantize_linear(KernelContext& ctx);
Status qconv_int8(KernelContext& ctx);  // kiln: ir/qconv_int8.h, made by passes/lower_qdq
Status quantize_linear(KernelContext& ctx);

}  // namespace kiln::cpu::ops
