// Op type -> CUDA planner. Ops absent here make the build fail with a message naming them.
#include <map>
#include <string>

#include "backends/cuda/plan.h"

namespace kiln::cuda {

OpPlanner find_op(std::string_view op_type) {
  static const std::map<std::string, OpPlanner, std::less<>> table = {
      {"Add", plan_binary},        {"Concat", plan_concat},   {"Conv", plan_conv},
      {"Cos", plan_unary},         {"Sin", plan_unary},
      {"Div", plan_binary},        {"Flatten", plan_reshape}, {"Identity", plan_reshape},
      {"MatMul", plan_matmul},     {"MaxPool", plan_maxpool}, {"Mul", plan_binary},
      {"Relu", plan_unary},        {"Reshape", plan_reshape}, {"Resize", plan_resize},
      {"Sigmoid", plan_unary},     {"SiLU", plan_unary},      {"Slice", plan_slice},
      {"Softmax", plan_softmax},   {"Split", plan_split},     {"Sub", plan_binary},
      {"Transpose", plan_transpose}, {"Unsqueeze", plan_reshape},
  };
  auto it = table.find(op_type);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace kiln::cuda
