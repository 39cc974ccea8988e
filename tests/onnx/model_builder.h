// Builds small ONNX ModelProtos in C++ for importer tests of edge cases and bad input.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "onnx/importer.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx::test {

using DimSpec = std::variant<int64_t, std::string>;  // a size, or a symbol ("" = unknown)

inline ::onnx::ModelProto make_model(int64_t opset) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("test");
  return m;
}

inline void set_type(::onnx::ValueInfoProto* v, int32_t elem_type, const std::vector<DimSpec>& dims) {
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  auto* shape = t->mutable_shape();
  for (const DimSpec& d : dims) {
    auto* dim = shape->add_dim();
    if (auto* v64 = std::get_if<int64_t>(&d)) dim->set_dim_value(*v64);
    else if (!std::get<std::string>(d).empty()) dim->set_dim_param(std::get<std::string>(d));
  }
}

inline void add_input(::onnx::ModelProto& m, const std::string& name, const std::vector<DimSpec>& dims,
                      int32_t elem_type = ::onnx::TensorProto::FLOAT) {
  auto* in = m.mutable_graph()->add_input();
  in->set_name(name);
  set_type(in, elem_type, dims);
}

inline void add_output(::onnx::ModelProto& m, const std::string& name) {
  m.mutable_graph()->add_output()->set_name(name);
}

inline ::onnx::NodeProto* add_node(::onnx::ModelProto& m, const std::string& op, const std::string& name,
                                   const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                                   const std::string& domain = "") {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  n->set_domain(domain);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

inline ::onnx::AttributeProto* add_attr(::onnx::NodeProto* n, const std::string& name,
                                        ::onnx::AttributeProto::AttributeType type) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

inline void set_ints(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = add_attr(n, name, ::onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

inline void set_int(::onnx::NodeProto* n, const std::string& name, int64_t value) {
  add_attr(n, name, ::onnx::AttributeProto::INT)->set_i(value);
}

inline ::onnx::TensorProto* add_initializer(::onnx::ModelProto& m, const std::string& name, int32_t elem_type,
                                            const std::vector<int64_t>& dims) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

inline Result<ir::Graph> import_proto(const ::onnx::ModelProto& m, const std::string& name = "test.onnx") {
  std::string bytes = m.SerializeAsString();
  return import_model_bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                            name, ".");
}

}  // namespace kiln::onnx::test
