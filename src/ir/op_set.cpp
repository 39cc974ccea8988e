#include "ir/op_set.h"

#include <algorithm>

namespace kiln::ir {

const std::vector<std::string_view>& supported_ops() {
  // The importer turns ONNX Constant nodes into initialized Values, so Constant is absent.
  // What the Ultralytics exports (detect, segment, pose, obb, classify; FP32, dynamic,
  // INT8 dynamic and QDQ) and OSNet use, plus kiln's own fused ops made by passes.
  static const std::vector<std::string_view> ops = [] {
    std::vector<std::string_view> v = {
        "Add", "AveragePool", "BatchNormalization", "Cast", "Concat",
        "ConstantOfShape", "Conv", "ConvInteger", "ConvTranspose", "Cos", "DequantizeLinear",
        "Div", "DynamicQuantizeLinear", "Expand", "Flatten", "Gather", "Gemm",
        "GlobalAveragePool", "Identity", "MatMul", "MaxPool", "Mul", "QuantizeLinear", "Range",
        "ReduceMean", "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Sin", "Slice",
        "Softmax", "Split", "Sub", "Transpose", "Unsqueeze",
        "SiLU",       // kiln: x * sigmoid(x), made by passes/fuse_silu
        "QConvInt8",  // kiln: int8 conv + epilogue (ir/qconv_int8.h), made by passes/lower_qdq
    };
    std::sort(v.begin(), v.end());
    return v;
  }();
  return ops;
}

bool is_supported_op(std::string_view op_type) {
  const auto& ops = supported_ops();
  return std::binary_search(ops.begin(), ops.end(), op_type);
}

}  // namespace kiln::ir
