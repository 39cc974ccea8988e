#include "onnx/constant_node.h"

#include <vector>

#include "onnx/tensor_conversion.h"

namespace kiln::onnx {

Result<ir::Tensor> constant_node_value(const ::onnx::NodeProto& node, const ImportContext& ctx) {
  if (node.attribute_size() != 1)
    return error(StatusCode::kCorrupt, ctx.file, ": Constant node '", node.name(), "' has ", node.attribute_size(),
                 " attributes, expected exactly one");
  const auto& attr = node.attribute(0);
  const std::string& key = attr.name();
  if (key == "value") return tensor_from_proto(attr.t(), "Constant node '" + node.name() + "'", ctx);
  if (key == "value_float") return ir::Tensor::scalar<float>(attr.f());
  if (key == "value_int") return ir::Tensor::scalar<int64_t>(attr.i());
  if (key == "value_floats") {
    std::vector<float> v(attr.floats().begin(), attr.floats().end());
    return ir::Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (key == "value_ints") {
    std::vector<int64_t> v(attr.ints().begin(), attr.ints().end());
    return ir::Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  return error(StatusCode::kUnsupported, ctx.file, ": Constant node '", node.name(), "' uses attribute '", key,
               "' (only value, value_float(s) and value_int(s) are supported)");
}

}  // namespace kiln::onnx
