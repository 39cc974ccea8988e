// Bad sliding-window attributes (zero strides, negative or huge pads, windows larger than
// the input, ...) are refused by shape inference and by the CPU kernels alike, with an error
// naming the node and the attribute, before any arithmetic (a zero stride used to divide by
// zero, a 2^55 pad to overflow the output size and the heap).
#include <gtest/gtest.h>

#include "passes/shape_inference.h"
#include "run_op.h"

namespace kiln::cpu::test {
namespace {

using Attrs = std::map<std::string, ir::AttrValue>;
using Ints = std::vector<int64_t>;

struct BadCase {
  std::string what;      // a word the error must contain
  Attrs attrs;
};

const std::vector<std::string> kWindowOps = {"Conv", "ConvTranspose", "MaxPool", "AveragePool"};

std::vector<BadCase> bad_cases() {
  const int64_t huge = int64_t{1} << 55;
  return {
      {"strides", {{"strides", Ints{0, 0}}}},
      {"strides", {{"strides", Ints{-1, 1}}}},
      {"strides", {{"strides", Ints{1}}}},
      {"dilations", {{"dilations", Ints{0, 1}}}},
      {"dilations", {{"dilations", Ints{huge, 1}}}},
      {"pads", {{"pads", Ints{-1, 0, 0, 0}}}},
      {"pads", {{"pads", Ints{huge, 0, 0, 0}}}},
      {"pads", {{"pads", Ints{0, 0, 0, huge}}}},
      {"auto_pad", {{"auto_pad", std::string("MIRROR")}}},
      {"ceil_mode", {{"ceil_mode", int64_t{7}}}},
  };
}

// A node of `op` over a [1,2,4,4] input (Conv/ConvTranspose with a [2,2,3,3] weight, pools
// with a 3x3 window), plus `extra` attributes.
ir::Graph one_node_graph(const std::string& op, const Attrs& extra, ir::Node** node = nullptr) {
  ir::Graph g;
  ir::Value* x = g.add_value("x");
  x->shape = ir::make_shape({1, 2, 4, 4});
  g.inputs.push_back(x);
  std::vector<ir::Value*> ins = {x};
  if (op == "Conv" || op == "ConvTranspose")
    ins.push_back(g.add_constant("w", ir::Tensor(ir::DType::kFloat32, {2, 2, 3, 3})));
  ir::Node* n = g.add_node(op, "bad_" + op, ins, {g.add_value("y")});
  if (op == "MaxPool" || op == "AveragePool") n->attrs["kernel_shape"] = Ints{3, 3};
  for (const auto& [k, v] : extra) n->attrs[k] = v;
  g.outputs = n->outputs;
  if (node) *node = n;
  return g;
}

OpCase one_node_case(const std::string& op, const Attrs& extra) {
  OpCase c{op, {tensor<float>({1, 2, 4, 4}, std::vector<float>(32, 1.f))}, 1, extra};
  if (op == "Conv" || op == "ConvTranspose") c.inputs.push_back(tensor<float>({2, 2, 3, 3}, std::vector<float>(36, 1.f)));
  if (op == "MaxPool" || op == "AveragePool") c.attrs.emplace("kernel_shape", Ints{3, 3});  // unless given
  return c;
}

void expect_refused(const Status& st, const std::string& op, const std::string& what, const std::string& where) {
  EXPECT_FALSE(st.ok()) << where << ": " << op << " with bad " << what << " accepted";
  EXPECT_NE(st.message().find(what), std::string::npos) << where << ": " << st.message();
  EXPECT_NE(st.message().find("bad_" + op), std::string::npos) << where << ": " << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
}

TEST(WindowAttributes, ShapeInferenceRefusesEveryBadValueNamingNodeAndAttribute) {
  for (const std::string& op : kWindowOps)
    for (const BadCase& c : bad_cases()) {
      if (c.what == "ceil_mode" && (op == "Conv" || op == "ConvTranspose")) continue;  // pools only
      ir::Graph g = one_node_graph(op, c.attrs);
      expect_refused(passes::infer_shapes(g).status(), op, c.what, "shape inference");
    }
}

TEST(WindowAttributes, CpuKernelsRefuseEveryBadValue) {
  for (const std::string& op : kWindowOps)
    for (const BadCase& c : bad_cases()) {
      if (c.what == "ceil_mode" && (op == "Conv" || op == "ConvTranspose")) continue;
      OpCase oc = one_node_case(op, c.attrs);
      oc.op_type = op;
      Result<std::vector<ir::Tensor>> r = run_op(oc);
      Status st = r.ok() ? Status::Ok() : r.status();
      EXPECT_FALSE(st.ok()) << op << " " << c.what;
      EXPECT_NE(st.message().find(c.what), std::string::npos) << st.message();
      EXPECT_NE(st.message().find("node0"), std::string::npos) << st.message();
    }
}

TEST(WindowAttributes, WindowLargerThanPaddedInputIsRefusedBothWays) {
  for (const std::string& op : {std::string("MaxPool"), std::string("AveragePool")}) {
    Attrs big = {{"kernel_shape", Ints{7, 7}}, {"pads", Ints{1, 1, 1, 1}}};  // 7 > 4 + 2
    ir::Graph g = one_node_graph(op, big);
    Status st = passes::infer_shapes(g).status();
    EXPECT_NE(st.message().find("larger than the padded input 6"), std::string::npos) << st.message();
    OpCase oc = one_node_case(op, big);
    Result<std::vector<ir::Tensor>> r = run_op(oc);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("larger than the padded input 6"), std::string::npos) << r.status().message();
  }
  Attrs dilated = {{"dilations", Ints{2, 2}}};  // 3x3 dilated by 2 spans 5 > 4
  ir::Graph g = one_node_graph("Conv", dilated);
  EXPECT_FALSE(passes::infer_shapes(g).ok());
  EXPECT_FALSE(run_op(one_node_case("Conv", dilated)).ok());
}

TEST(WindowAttributes, ConvGroupAndTransposedOutputPaddingAreChecked) {
  for (int64_t group : {int64_t{0}, int64_t{-2}, int64_t{3}}) {
    ir::Graph g = one_node_graph("Conv", {{"group", group}});
    EXPECT_FALSE(passes::infer_shapes(g).ok()) << group;
    EXPECT_FALSE(run_op(one_node_case("Conv", {{"group", group}})).ok()) << group;
  }
  // output_padding must stay below the stride (or dilation): ONNX and PyTorch's rule.
  Attrs op = {{"strides", Ints{2, 2}}, {"output_padding", Ints{2, 0}}};
  ir::Graph g = one_node_graph("ConvTranspose", op);
  EXPECT_NE(passes::infer_shapes(g).status().message().find("output_padding"), std::string::npos);
  EXPECT_FALSE(run_op(one_node_case("ConvTranspose", op)).ok());
  // output_shape larger than the transposed convolution can produce.
  Attrs shape = {{"output_shape", Ints{100, 100}}};
  ir::Graph g2 = one_node_graph("ConvTranspose", shape);
  EXPECT_FALSE(passes::infer_shapes(g2).ok());
  EXPECT_FALSE(run_op(one_node_case("ConvTranspose", shape)).ok());
}

TEST(WindowAttributes, ValidGeometriesAgreeBetweenShapeInferenceAndKernels) {
  // Hand-computed: 4x4 input, 3x3 window.
  struct Good {
    std::string op;
    Attrs attrs;
    Ints want;
  };
  const std::vector<Good> good = {
      {"Conv", {{"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}, {1, 2, 2, 2}},          // (4+2-3)/2+1
      {"Conv", {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{3, 3}}}, {1, 2, 2, 2}},  // ceil(4/3)
      {"MaxPool", {{"strides", Ints{2, 2}}}, {1, 2, 1, 1}},                                   // floor(1/2)+1
      {"MaxPool", {{"strides", Ints{2, 2}}, {"ceil_mode", int64_t{1}}}, {1, 2, 2, 2}},        // ceil(1/2)+1
      {"MaxPool", {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"pads", Ints{0, 0, 1, 1}},
                   {"ceil_mode", int64_t{1}}}, {1, 2, 2, 2}},  // ceil(3/2)+1 = 3, the last starts in the end pad
      {"AveragePool", {{"pads", Ints{1, 1, 1, 1}}}, {1, 2, 4, 4}},
      {"ConvTranspose", {{"strides", Ints{2, 2}}, {"output_padding", Ints{1, 1}}}, {1, 2, 10, 10}},  // 2*3+1+3
      {"ConvTranspose", {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}}, {1, 2, 8, 8}},
  };
  for (const Good& c : good) {
    ir::Node* n = nullptr;
    ir::Graph g = one_node_graph(c.op, c.attrs, &n);
    ASSERT_TRUE(passes::infer_shapes(g).ok()) << c.op;
    EXPECT_EQ(ir::shape_to_string(*n->outputs[0]->shape), ir::shape_to_string(c.want)) << c.op;
    Result<std::vector<ir::Tensor>> r = run_op(one_node_case(c.op, c.attrs));
    ASSERT_TRUE(r.ok()) << c.op << ": " << r.status().message();
    EXPECT_EQ((*r)[0].shape(), c.want) << c.op;
  }
}

}  // namespace
}  // namespace kiln::cpu::test
