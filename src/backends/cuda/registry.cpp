// Op type -> CUDA planner. Ops absent here make the build fail with a message naming them.
#include <map>
#include <string>

#include "backends/cuda/plan.h"

namespace kiln::cuda {

OpPlanner find_op(std::string_view op_type) {
  static const std::map<std::string, OpPlanner, std::less<>> table = {
      {"Add", plan_binary},
      {"AveragePool", plan_average_pool},
      {"BatchNormalization", plan_batch_norm},
      {"Concat", plan_concat},
      {"Conv", plan_conv},
      {"ConvTranspose", plan_conv_transpose},
      {"Cos", plan_unary},
      {"DequantizeLinear", plan_dequantize_linear},
      {"Div", plan_binary},
      {"Flatten", plan_reshape},
      {"Gemm", plan_gemm},
      {"GlobalAveragePool", plan_reduce_mean},
      {"Identity", plan_reshape},
      {"MatMul", plan_matmul},
      {"MaxPool", plan_maxpool},
      {"QConvInt8", plan_qconv_int8},
      {"QuantizeLinear", plan_quantize_linear},
      {"Mul", plan_binary},
      {"ReduceMean", plan_reduce_mean},
      {"Relu", plan_unary},
      {"Reshape", plan_reshape},
      {"Resize", plan_resize},
      {"Sigmoid", plan_unary},
      {"SiLU", plan_unary},
      {"Sin", plan_unary},
      {"Slice", plan_slice},
      {"Softmax", plan_softmax},
      {"Split", plan_split},
      {"Sub", plan_binary},
      {"Transpose", plan_transpose},
      {"Unsqueeze", plan_reshape},
  };
  auto it = table.find(op_type);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace kiln::cuda
