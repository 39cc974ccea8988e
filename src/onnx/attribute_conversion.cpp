#include "onnx/attribute_conversion.h"

#include <vector>

#include "onnx/tensor_conversion.h"

namespace kiln::onnx {

using ::onnx::AttributeProto;

Result<ir::AttrValue> attr_from_proto(const AttributeProto& attr, const std::string& node_name,
                                      const ImportContext& ctx) {
  switch (attr.type()) {
    case AttributeProto::INT: return ir::AttrValue(static_cast<int64_t>(attr.i()));
    case AttributeProto::FLOAT: return ir::AttrValue(attr.f());
    case AttributeProto::STRING: return ir::AttrValue(attr.s());
    case AttributeProto::INTS:
      return ir::AttrValue(std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
    case AttributeProto::FLOATS:
      return ir::AttrValue(std::vector<float>(attr.floats().begin(), attr.floats().end()));
    case AttributeProto::STRINGS:
      return ir::AttrValue(std::vector<std::string>(attr.strings().begin(), attr.strings().end()));
    case AttributeProto::TENSOR: {
      KILN_ASSIGN_OR_RETURN(ir::Tensor t, tensor_from_proto(attr.t(), "attribute '" + attr.name() + "' of node '" +
                                                                          node_name + "'",
                                                            ctx));
      return ir::AttrValue(std::move(t));
    }
    case AttributeProto::UNDEFINED:
      return error(StatusCode::kCorrupt, ctx.file, ": attribute '", attr.name(), "' of node '", node_name,
                   "' has no type");
    default:
      return error(StatusCode::kUnsupported, ctx.file, ": attribute '", attr.name(), "' of node '", node_name,
                   "' has unsupported type ", AttributeProto::AttributeType_Name(attr.type()));
  }
}

}  // namespace kiln::onnx
