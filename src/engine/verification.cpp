#include "engine/verification.h"

#include <cmath>

namespace kiln::engine {

double max_verify_error(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return 1e-3;
    case Precision::kFp16:
    case Precision::kTf32: return 2e-2;
    case Precision::kInt8: return kInt8VerifyError;
  }
  return 1e-3;
}

namespace {

// A deterministic input in [0, 1): the same for every build, so verification is repeatable.
ir::Tensor test_input(const std::vector<int64_t>& dims) {
  ir::Tensor t(ir::DType::kFloat32, dims);
  float* p = t.data<float>();
  uint32_t state = 12345;
  for (int64_t i = 0; i < t.numel(); ++i) {
    state = state * 1664525u + 1013904223u;
    p[i] = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
  }
  return t;
}

}  // namespace

std::optional<std::vector<ir::Tensor>> verification_inputs(const ir::Graph& graph, BuildInfo& info) {
  std::vector<ir::Tensor> inputs;
  for (const ir::Value* in : graph.inputs) {
    if (!in->shape || !ir::is_static(*in->shape)) {
      info.verification_note = "not verified: input '" + in->name + "' has no static shape";
      return std::nullopt;
    }
    inputs.push_back(test_input(ir::static_dims(*in->shape)));
  }
  return inputs;
}

Result<double> max_relative_error(const std::vector<ir::Tensor>& got, const std::vector<ir::Tensor>& ref) {
  if (got.size() != ref.size()) return error(StatusCode::kInternal, "engine has ", got.size(), " outputs, model ", ref.size());
  double worst = 0;
  for (size_t o = 0; o < got.size(); ++o) {
    if (got[o].shape() != ref[o].shape())
      return error(StatusCode::kInternal, "output ", o, " shape ", ir::shape_to_string(got[o].shape()), " vs model ",
                   ir::shape_to_string(ref[o].shape()));
    ir::Tensor a = got[o].to_float32(), b = ref[o].to_float32();
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      double x = a.data<float>()[i], y = b.data<float>()[i];
      diff = std::isfinite(x) ? std::max(diff, std::fabs(x - y)) : INFINITY;
      scale = std::max(scale, std::fabs(y));
    }
    worst = std::max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

Status check_error(double err, double limit, const std::string& what, BuildInfo& info) {
  info.max_relative_error = err;
  if (!(err <= limit))
    return error(StatusCode::kInternal, "verification failed: ", what, " differs from the model by ", err,
                 " (relative, limit ", limit, ")");
  return Status::Ok();
}

}  // namespace kiln::engine
