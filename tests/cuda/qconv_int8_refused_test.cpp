// The CUDA backend has no QConvInt8 kernel yet: a lowered INT8 graph is refused with the
// backend's Unsupported error naming the op and the node, not run wrongly.
#include <gtest/gtest.h>

#include "cuda_test_util.h"
#include "ir/qconv_int8.h"

namespace kiln::cuda::test {
namespace {

TEST(CudaQConvInt8, RefusedByName) {
  KILN_REQUIRE_GPU();
  ir::Graph g;
  ir::Value* residual = g.add_value("residual");
  residual->shape = ir::make_shape({1, 2, 3, 3});
  g.inputs = {residual};
  std::vector<ir::Value*> in(ir::qconv::kResidual + 1, nullptr);
  in[ir::qconv::kX] = g.add_constant("x_q", ir::Tensor(ir::DType::kInt8, {1, 2, 3, 3}));
  in[ir::qconv::kXScale] = g.add_constant("x_scale", ir::Tensor::scalar<float>(0.1f));
  in[ir::qconv::kXZeroPoint] = g.add_constant("x_zero", ir::Tensor::scalar<int8_t>(0));
  in[ir::qconv::kW] = g.add_constant("w_q", ir::Tensor(ir::DType::kInt8, {2, 2, 1, 1}));
  in[ir::qconv::kWScale] = g.add_constant("w_scale", ir::Tensor::scalar<float>(0.01f));
  in[ir::qconv::kResidual] = residual;
  ir::Value* y = g.add_value("y");
  y->shape = residual->shape;
  g.add_node(ir::qconv::kOpType, "qconv0", in, {y});
  g.outputs = {y};
  auto engine = Engine::build(g, test_build_options(Precision::kFp16));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(engine.status().message().find("QConvInt8"), std::string::npos) << engine.status().message();
  EXPECT_NE(engine.status().message().find("qconv0"), std::string::npos) << engine.status().message();
}

}  // namespace
}  // namespace kiln::cuda::test
