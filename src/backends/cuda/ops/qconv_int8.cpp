// QConvInt8 (ir/qconv_int8.h) on the GPU: int8 NHWC input (a QuantizeLinear's or another
// QConvInt8's output), int8 KRSC weights, exact int32 accumulation and the shared epilogue
// fused (per-channel scale, bias, SiLU, residual add, requantization to int8 or a float
// output in the engine's float dtype), one kernel launch chosen by shape (qconv_int8_kernel.h).
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>

#include "backends/cuda/ops/conv_mma.h"
#include "backends/cuda/ops/qconv_int8_kernel.h"
#include "backends/cuda/plan.h"
#include "ir/qconv_int8.h"
#include "ir/window_geometry.h"

namespace kiln::cuda {
namespace {

namespace qconv = ir::qconv;

class QConvInt8Step : public Step {
 public:
  QConvInt8Args args;
  int in = 0, out = 0, residual = -1;

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    QConvInt8Args a = args;
    a.x = static_cast<const int8_t*>(st.ptr[in]);
    a.residual = residual >= 0 ? st.ptr[residual] : nullptr;
    a.y = st.ptr[out];
    Status s = launch_qconv_int8(a, stream);
    return s.ok() ? s : error(s.code(), name, ": ", s.message());
  }
};

// The constant behind input i, of `dtype` and one of the sizes in `counts`; null when the
// input is absent and `optional`.
Result<const ir::Tensor*> constant(const PlanBuilder& b, const ir::Node& node, size_t i, ir::DType dtype,
                                   std::initializer_list<int64_t> counts, const char* what, bool optional) {
  if (!node.input(i)) {
    if (optional) return static_cast<const ir::Tensor*>(nullptr);
    return error(StatusCode::kInvalidArgument, what, " is missing");
  }
  const ir::Tensor* t = b.constant_input(node, i);
  if (!t) return error(StatusCode::kUnsupported, what, " must be a constant");
  if (t->dtype() != dtype)
    return error(StatusCode::kInvalidArgument, what, " has dtype ", ir::dtype_name(t->dtype()), ", expected ",
                 ir::dtype_name(dtype));
  if (counts.size() && std::find(counts.begin(), counts.end(), t->numel()) == counts.end())
    return error(StatusCode::kInvalidArgument, what, " has ", t->numel(), " values");
  return t;
}

Result<ConvShape> shape_of(const PlanBuilder& b, const ir::Node& node, const ir::Tensor& w) {
  KILN_ASSIGN_OR_RETURN(const std::vector<int64_t> in, b.dims_of(node, node.input(qconv::kX)));
  KILN_ASSIGN_OR_RETURN(const std::vector<int64_t> out, b.dims_of(node, node.outputs[0]));
  if (in.size() != 4 || out.size() != 4 || w.rank() != 4)
    return error(StatusCode::kUnsupported, "only 2-D convolutions (input ", ir::shape_to_string(in), ", weights ",
                 ir::shape_to_string(w.shape()), ")");
  KILN_ASSIGN_OR_RETURN(const ir::Window win, ir::read_window(node, 2, {w.dim(2), w.dim(3)}));
  const std::vector<int64_t> pads = ir::resolved_pads(win, {in[2], in[3]});
  ConvShape s{in[0], in[2], in[3], in[1], w.dim(0), out[2], out[3], w.dim(2), w.dim(3), win.strides[0], win.strides[1],
              pads[0], pads[1], win.dilations[0], win.dilations[1], node.attr_int("group", 1)};
  if (s.groups <= 0 || s.c % s.groups || s.k % s.groups || w.dim(1) != s.c / s.groups || out[1] != s.k ||
      out[0] != s.n)
    return error(StatusCode::kInvalidArgument, "weights ", ir::shape_to_string(w.shape()), " do not fit input ",
                 ir::shape_to_string(in), " and output ", ir::shape_to_string(out), " with group ", s.groups);
  return s;
}

QConvInt8Kernel kernel_for(const PlanBuilder& b, const ConvShape& s) {
  return choose_qconv_int8_kernel(s, b.options().int8_tensor_cores && mma_kernels_available());
}

}  // namespace

Status plan_qconv_int8(PlanBuilder& b, const ir::Node& node) {
  const std::string activation = node.attr_string(qconv::kActivationAttr, "");
  if (!activation.empty() && activation != qconv::kSiLU)
    return error(StatusCode::kInvalidArgument, "activation '", activation, "' is not one of: SiLU");
  KILN_ASSIGN_OR_RETURN(const ir::Tensor* w, constant(b, node, qconv::kW, ir::DType::kInt8, {}, "weights", false));
  KILN_ASSIGN_OR_RETURN(const ConvShape s, shape_of(b, node, *w));
  KILN_ASSIGN_OR_RETURN(const ir::Tensor* x_scale,
                        constant(b, node, qconv::kXScale, ir::DType::kFloat32, {1}, "x_scale", false));
  KILN_ASSIGN_OR_RETURN(const ir::Tensor* x_zero,
                        constant(b, node, qconv::kXZeroPoint, ir::DType::kInt8, {1}, "x_zero_point", false));
  KILN_ASSIGN_OR_RETURN(const ir::Tensor* w_scale,
                        constant(b, node, qconv::kWScale, ir::DType::kFloat32, {1, s.k}, "w_scale", false));
  KILN_ASSIGN_OR_RETURN(const ir::Tensor* bias, constant(b, node, qconv::kBias, ir::DType::kFloat32, {s.k}, "bias", true));
  KILN_ASSIGN_OR_RETURN(const ir::Tensor* y_scale,
                        constant(b, node, qconv::kYScale, ir::DType::kFloat32, {1}, "y_scale", true));
  KILN_ASSIGN_OR_RETURN(const ir::Tensor* y_zero,
                        constant(b, node, qconv::kYZeroPoint, ir::DType::kInt8, {1}, "y_zero_point", true));
  if (y_zero && !y_scale) return error(StatusCode::kInvalidArgument, "y_zero_point without y_scale");

  auto step = std::make_unique<QConvInt8Step>();
  QConvInt8Args& a = step->args;
  a.s = s;
  a.x_zero_point = x_zero->data<int8_t>()[0];
  a.silu = activation == qconv::kSiLU;
  a.float_type = b.act_dtype();
  a.int8_output = y_scale != nullptr;
  a.y_scale = y_scale ? y_scale->data<float>()[0] : 1.f;
  a.y_inv_scale = 1.f / a.y_scale;
  a.y_zero_point = y_zero ? y_zero->data<int8_t>()[0] : 0;
  a.kernel = kernel_for(b, s);
  a.tile = choose_mma_tile(s);  // read by the kMma kernel only
  KILN_ASSIGN_OR_RETURN(step->in, b.input_as(node, qconv::kX, Layout::kNHWC, ir::DType::kInt8));
  if (node.input(qconv::kResidual)) {
    KILN_ASSIGN_OR_RETURN(step->residual, b.input_keep_views(node, qconv::kResidual, Layout::kNHWC));
    const Slot& r = b.slot(step->residual);
    a.residual_pixel_stride = r.packed() ? s.k : r.pixel_stride;
  }

  // Weights KCRS -> KRSC (depthwise: RSK, so that a thread's channels are one vector; the
  // narrow-conv kernel: [tap][4-channel word][k][4], the layout its blocks copy to shared
  // memory as they lie); per channel the sum of the weights (the zero point's share of the
  // tiled kernel's sum), the accumulator's scale as the CPU kernel computes it, the bias.
  const int64_t cg = s.c / s.groups, taps = s.r * s.s;
  const bool depthwise = a.kernel == QConvInt8Kernel::kDepthwise, pixel = a.kernel == QConvInt8Kernel::kPixel;
  const int8_t* kcrs = w->data<int8_t>();
  std::vector<int8_t> krsc(static_cast<size_t>(w->numel()));
  std::vector<int32_t> w_sum(static_cast<size_t>(s.k), 0);
  std::vector<float> scale(static_cast<size_t>(s.k)), bias_k(static_cast<size_t>(s.k), 0.f),
      raw_bias(static_cast<size_t>(s.k));
  for (int64_t k = 0; k < s.k; ++k) {
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t t = 0; t < taps; ++t) {
        const int8_t v = kcrs[(k * cg + c) * taps + t];
        krsc[depthwise ? t * s.k + k
             : pixel   ? ((t * (cg / 4) + c / 4) * s.k + k) * 4 + c % 4
                       : (k * taps + t) * cg + c] = v;
        w_sum[k] += v;
      }
    scale[k] = qconv::accumulator_scale(x_scale->data<float>()[0], w_scale->data<float>()[w_scale->numel() == 1 ? 0 : k]);
    if (bias) bias_k[k] = bias->data<float>()[k];
    raw_bias[k] = std::fma(-scale[k], float(a.x_zero_point * w_sum[k]), bias_k[k]);
  }
  KILN_ASSIGN_OR_RETURN(const void* wd, b.upload(krsc.data(), krsc.size(), node.name + " weights"));
  KILN_ASSIGN_OR_RETURN(const void* sum, b.upload(w_sum.data(), w_sum.size() * 4, node.name + " weight sums"));
  KILN_ASSIGN_OR_RETURN(const void* sc, b.upload(scale.data(), scale.size() * 4, node.name + " scales"));
  KILN_ASSIGN_OR_RETURN(const void* bd, b.upload(bias_k.data(), bias_k.size() * 4, node.name + " bias"));
  KILN_ASSIGN_OR_RETURN(const void* rb, b.upload(raw_bias.data(), raw_bias.size() * 4, node.name + " raw-sum bias"));
  a.w = static_cast<const int8_t*>(wd);
  a.w_sum = static_cast<const int32_t*>(sum);
  a.scale = static_cast<const float*>(sc);
  a.bias = static_cast<const float*>(bd);
  a.raw_bias = static_cast<const float*>(rb);

  // A float output placed in its Concat's buffer (concat_views.h) is written there in place.
  const int64_t placed = a.int8_output ? 0 : b.placed_pixel_stride(node.outputs[0]);
  step->out = placed ? b.define_placed(node.outputs[0], {s.n, s.k, s.oh, s.ow})
                     : b.define(node.outputs[0], {s.n, s.k, s.oh, s.ow}, Layout::kNHWC,
                                a.int8_output ? ir::DType::kInt8 : b.act_dtype());
  a.y_pixel_stride = placed ? placed : s.k;
  std::vector<int> reads = {step->in};
  if (step->residual >= 0) reads.push_back(step->residual);
  step->describe(node, qconv_int8_tactic(a), reads, {step->out});
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
