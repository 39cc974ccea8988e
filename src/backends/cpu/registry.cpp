// op type -> CPU kernel. Every op in ir::supported_ops() has an entry (tests/cpu checks).
#include <algorithm>
#include <array>
#include <utility>

#include "backends/cpu/kernel.h"
#include "backends/cpu/ops/ops.h"

namespace kiln::cpu {
namespace {

// Sorted by op type for binary search.
constexpr std::array kKernels = {
    std::pair<std::string_view, Kernel>{"Add", ops::add},
    std::pair<std::string_view, Kernel>{"AveragePool", ops::average_pool},
    std::pair<std::string_view, Kernel>{"BatchNormalization", ops::batch_normalization},
    std::pair<std::string_view, Kernel>{"Cast", ops::cast},
    std::pair<std::string_view, Kernel>{"Concat", ops::concat},
    std::pair<std::string_view, Kernel>{"ConstantOfShape", ops::constant_of_shape},
    std::pair<std::string_view, Kernel>{"Conv", ops::conv},
    std::pair<std::string_view, Kernel>{"ConvInteger", ops::conv_integer},
    std::pair<std::string_view, Kernel>{"ConvTranspose", ops::conv_transpose},
    std::pair<std::string_view, Kernel>{"Cos", ops::cos},
    std::pair<std::string_view, Kernel>{"DequantizeLinear", ops::dequantize_linear},
    std::pair<std::string_view, Kernel>{"Div", ops::div},
    std::pair<std::string_view, Kernel>{"DynamicQuantizeLinear", ops::dynamic_quantize_linear},
    std::pair<std::string_view, Kernel>{"Expand", ops::expand},
    std::pair<std::string_view, Kernel>{"Flatten", ops::flatten},
    std::pair<std::string_view, Kernel>{"Gather", ops::gather},
    std::pair<std::string_view, Kernel>{"Gemm", ops::gemm},
    std::pair<std::string_view, Kernel>{"GlobalAveragePool", ops::global_average_pool},
    std::pair<std::string_view, Kernel>{"Identity", ops::identity},
    std::pair<std::string_view, Kernel>{"MatMul", ops::matmul},
    std::pair<std::string_view, Kernel>{"MaxPool", ops::max_pool},
    std::pair<std::string_view, Kernel>{"Mul", ops::mul},
    std::pair<std::string_view, Kernel>{"QConvInt8", ops::qconv_int8},
    std::pair<std::string_view, Kernel>{"QuantizeLinear", ops::quantize_linear},
    std::pair<std::string_view, Kernel>{"Range", ops::range},
    std::pair<std::string_view, Kernel>{"ReduceMean", ops::reduce_mean},
    std::pair<std::string_view, Kernel>{"Relu", ops::relu},
    std::pair<std::string_view, Kernel>{"Reshape", ops::reshape},
    std::pair<std::string_view, Kernel>{"Resize", ops::resize},
    std::pair<std::string_view, Kernel>{"Shape", ops::shape},
    std::pair<std::string_view, Kernel>{"SiLU", ops::silu},
    std::pair<std::string_view, Kernel>{"Sigmoid", ops::sigmoid},
    std::pair<std::string_view, Kernel>{"Sin", ops::sin},
    std::pair<std::string_view, Kernel>{"Slice", ops::slice},
    std::pair<std::string_view, Kernel>{"Softmax", ops::softmax},
    std::pair<std::string_view, Kernel>{"Split", ops::split},
    std::pair<std::string_view, Kernel>{"Sub", ops::sub},
    std::pair<std::string_view, Kernel>{"Transpose", ops::transpose},
    std::pair<std::string_view, Kernel>{"Unsqueeze", ops::unsqueeze},
};

}  // namespace

Kernel find_kernel(std::string_view op_type) {
  static_assert(std::is_sorted(kKernels.begin(), kKernels.end(),
                               [](const auto& a, const auto& b) { return a.first < b.first; }),
                "kKernels must stay sorted");
  auto it = std::lower_bound(kKernels.begin(), kKernels.end(), op_type,
                             [](const auto& entry, std::string_view key) { return entry.first < key; });
  return it != kKernels.end() && it->first == op_type ? it->second : nullptr;
}

}  // namespace kiln::cpu
