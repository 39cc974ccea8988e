// Conv (+ fused bias and SiLU), NHWC, through cuDNN 9's graph API (cuDNN frontend).
// Tries, in order: conv+bias+SiLU as one cuDNN graph; conv-only cuDNN graph followed by
// our bias/activation kernel; our direct convolution kernel. The step's tactic records
// which one was taken (and the cuDNN engine name), so nothing falls back silently.
#include <cudnn_frontend.h>

#include <cstring>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plan.h"
#include "ir/half.h"

namespace kiln::cuda {
namespace {

namespace fe = cudnn_frontend;

constexpr int64_t kUidX = 1, kUidW = 2, kUidB = 3, kUidY = 4;

Status fe_status(fe::error_t e, const std::string& what) {
  if (e.is_good()) return Status::Ok();
  return error(StatusCode::kUnsupported, what, ": ", e.get_message());
}

class ConvStep : public Step {
 public:
  int in = 0, out = 0;
  ConvShape shape{};
  ir::DType type{};
  bool silu = false;
  const void* weight = nullptr;      // KRSC, activation dtype
  const void* bias_act = nullptr;    // activation dtype, for the fused cuDNN graph
  const float* bias_f32 = nullptr;   // for our kernels
  std::shared_ptr<fe::graph::Graph> graph;
  bool fused = false;                // graph includes bias (+SiLU)

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    if (!graph) {
      Status s = launch_conv_direct_nhwc(st.ptr[in], weight, bias_f32, st.ptr[out], type, shape, silu, stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    KILN_RETURN_IF_ERROR(cudnn_status(cudnnSetStream(st.cudnn, stream), name + ": cudnnSetStream"));
    std::unordered_map<int64_t, void*> pack = {{kUidX, st.ptr[in]},
                                               {kUidW, const_cast<void*>(weight)},
                                               {kUidY, st.ptr[out]}};
    if (fused) pack[kUidB] = const_cast<void*>(bias_act);
    KILN_RETURN_IF_ERROR(fe_status(graph->execute(st.cudnn, pack, st.workspace), name + ": cuDNN execute"));
    if (!fused) {
      Status s = launch_bias_act(st.ptr[out], bias_f32, shape.n * shape.oh * shape.ow * shape.k, shape.k, silu, type,
                                 stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    return Status::Ok();
  }
};

// Builds a cuDNN graph for this conv (with bias+SiLU when `fused`); Unsupported when no
// engine takes it. With `tune`, every candidate plan is built and timed on scratch buffers.
Result<std::shared_ptr<fe::graph::Graph>> build_cudnn_graph(const ConvShape& s, bool half, bool fused, bool silu,
                                                            bool tune, cudnnHandle_t handle, int64_t pad_bottom,
                                                            int64_t pad_right, const void* weight,
                                                            const void* bias, size_t* workspace) {
  const auto io = half ? fe::DataType_t::HALF : fe::DataType_t::FLOAT;
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
  const int64_t cg = s.c / s.groups;
  auto X = g->tensor(fe::graph::Tensor_attributes().set_name("X").set_uid(kUidX).set_data_type(io)
                         .set_dim({s.n, s.c, s.h, s.w}).set_stride({s.h * s.w * s.c, 1, s.w * s.c, s.c}));
  auto W = g->tensor(fe::graph::Tensor_attributes().set_name("W").set_uid(kUidW).set_data_type(io)
                         .set_dim({s.k, cg, s.r, s.s}).set_stride({s.r * s.s * cg, 1, s.s * cg, cg}));
  auto opts = fe::graph::Conv_fprop_attributes()
                  .set_pre_padding({s.ph, s.pw})
                  .set_post_padding({pad_bottom, pad_right})
                  .set_stride({s.sh, s.sw})
                  .set_dilation({s.dh, s.dw});
  auto Y = g->conv_fprop(X, W, opts);
  if (fused) {
    Y->set_data_type(fe::DataType_t::FLOAT);
    auto B = g->tensor(fe::graph::Tensor_attributes().set_name("B").set_uid(kUidB).set_data_type(io)
                           .set_dim({1, s.k, 1, 1}).set_stride({s.k, 1, s.k, s.k}));
    Y = g->pointwise(Y, B, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD));
    if (silu) {
      Y->set_data_type(fe::DataType_t::FLOAT);
      Y = g->pointwise(Y, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::SWISH_FWD).set_swish_beta(1.f));
    }
  }
  Y->set_output(true).set_uid(kUidY).set_data_type(io)
      .set_dim({s.n, s.k, s.oh, s.ow}).set_stride({s.oh * s.ow * s.k, 1, s.ow * s.k, s.k});
  KILN_RETURN_IF_ERROR(fe_status(g->validate(), "validate"));
  KILN_RETURN_IF_ERROR(fe_status(g->build_operation_graph(handle), "build_operation_graph"));
  KILN_RETURN_IF_ERROR(fe_status(g->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}),
                                 "create_execution_plans"));
  // FP32 means FP32: no TF32 tensor-core engines (they would cost ~1e-3 relative error).
  if (!half) g->deselect_numeric_notes({fe::NumericalNote_t::TENSOR_CORE});
  KILN_RETURN_IF_ERROR(fe_status(g->check_support(), "check_support"));
  KILN_RETURN_IF_ERROR(fe_status(
      g->build_plans(tune ? fe::BuildPlanPolicy_t::ALL : fe::BuildPlanPolicy_t::HEURISTICS_CHOICE), "build_plans"));
  if (tune && g->get_execution_plan_count() > 1) {
    // Scratch activations (inputs need no particular values for timing), real weights.
    const size_t esize = half ? 2 : 4;
    void *x = nullptr, *y = nullptr, *ws = nullptr;
    const size_t ws_bytes = static_cast<size_t>(std::max<int64_t>(g->get_autotune_workspace_size(), 16));
    Status st = cuda_status(cudaMalloc(&x, s.n * s.h * s.w * s.c * esize), "tune: cudaMalloc");
    if (st.ok()) st = cuda_status(cudaMalloc(&y, s.n * s.oh * s.ow * s.k * esize), "tune: cudaMalloc");
    if (st.ok()) st = cuda_status(cudaMalloc(&ws, ws_bytes), "tune: cudaMalloc");
    if (st.ok()) st = cuda_status(cudaMemset(x, 0, s.n * s.h * s.w * s.c * esize), "tune: cudaMemset");
    if (st.ok()) {
      std::unordered_map<int64_t, void*> pack = {{kUidX, x}, {kUidW, const_cast<void*>(weight)}, {kUidY, y}};
      if (fused) pack[kUidB] = const_cast<void*>(bias);
      st = fe_status(g->autotune(handle, pack, ws), "autotune");
    }
    cudaFree(x);
    cudaFree(y);
    cudaFree(ws);
    KILN_RETURN_IF_ERROR(st);
  }
  int64_t ws_size = 0;
  KILN_RETURN_IF_ERROR(fe_status(g->get_workspace_size(ws_size), "get_workspace_size"));
  *workspace = static_cast<size_t>(ws_size);
  return g;
}

}  // namespace

Status plan_conv(PlanBuilder& b, const ir::Node& node) {
  const ir::Tensor* w = b.constant_input(node, 1);
  if (!w || w->rank() != 4) return error(StatusCode::kUnsupported, "weights must be a constant 4-D tensor");
  if (node.input(2) && !b.constant_input(node, 2)) return error(StatusCode::kUnsupported, "bias must be constant");
  if (node.attr_string("auto_pad", "NOTSET") != "NOTSET") return error(StatusCode::kUnsupported, "auto_pad");
  auto step = std::make_unique<ConvStep>();
  KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
  const Slot src = b.slot(step->in);
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto pads = node.attr_ints("pads", {0, 0, 0, 0});
  const auto dil = node.attr_ints("dilations", {1, 1});
  if (strides.size() != 2 || pads.size() != 4 || dil.size() != 2) return error(StatusCode::kUnsupported, "only 2-D convs");
  ConvShape& s = step->shape;
  s.n = src.dims[0];
  s.c = src.dims[1];
  s.h = src.dims[2];
  s.w = src.dims[3];
  s.k = w->dim(0);
  s.r = w->dim(2);
  s.s = w->dim(3);
  s.groups = node.attr_int("group", 1);
  s.sh = strides[0];
  s.sw = strides[1];
  s.ph = pads[0];
  s.pw = pads[1];
  s.dh = dil[0];
  s.dw = dil[1];
  if (s.groups <= 0 || s.c % s.groups || s.k % s.groups || w->dim(1) != s.c / s.groups)
    return error(StatusCode::kInvalidArgument, "weights ", ir::shape_to_string(w->shape()), " do not fit input ",
                 ir::shape_to_string(src.dims), " with group ", s.groups);
  s.oh = (s.h + pads[0] + pads[2] - s.dh * (s.r - 1) - 1) / s.sh + 1;
  s.ow = (s.w + pads[1] + pads[3] - s.dw * (s.s - 1) - 1) / s.sw + 1;

  // Weights KCRS -> KRSC in the activation dtype; bias in FP32 and in the activation dtype.
  const bool half = b.act_dtype() == ir::DType::kFloat16;
  ir::Tensor wf = w->to_float32();
  const int64_t cg = s.c / s.groups;
  std::vector<float> krsc(static_cast<size_t>(wf.numel()));
  for (int64_t k = 0; k < s.k; ++k)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t r = 0; r < s.r; ++r)
        for (int64_t q = 0; q < s.s; ++q)
          krsc[((k * s.r + r) * s.s + q) * cg + c] = wf.data<float>()[((k * cg + c) * s.r + r) * s.s + q];
  std::vector<float> bias(static_cast<size_t>(s.k), 0.f);
  if (const ir::Tensor* bt = b.constant_input(node, 2)) {
    ir::Tensor bf = bt->to_float32();
    if (bf.numel() != s.k) return error(StatusCode::kInvalidArgument, "bias has ", bf.numel(), " values for ", s.k, " channels");
    std::copy(bf.data<float>(), bf.data<float>() + s.k, bias.begin());
  }
  auto upload_act = [&](const std::vector<float>& v, const std::string& what) -> Result<const void*> {
    if (!half) return b.upload(v.data(), v.size() * 4, what);
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = ir::float_to_half(v[i]);
    return b.upload(h.data(), h.size() * 2, what);
  };
  KILN_ASSIGN_OR_RETURN(step->weight, upload_act(krsc, node.name + " weights"));
  KILN_ASSIGN_OR_RETURN(step->bias_act, upload_act(bias, node.name + " bias"));
  KILN_ASSIGN_OR_RETURN(const void* bias_f32, b.upload(bias.data(), bias.size() * 4, node.name + " bias"));
  step->bias_f32 = static_cast<const float*>(bias_f32);

  // Fold a following SiLU (its sole consumer) into this conv.
  const ir::Value* out_value = node.outputs[0];
  if (const ir::Node* next = b.sole_consumer(out_value); next && next->op_type == "SiLU") {
    step->silu = true;
    b.skip_node(next);
    out_value = next->outputs[0];
  }
  step->type = b.act_dtype();
  step->out = b.define(out_value, {s.n, s.k, s.oh, s.ow}, Layout::kNHWC);
  step->name = node.name;
  step->reads = {step->in};
  step->writes = {step->out};

  std::string why_not;
  if (b.options().direct_conv) {
    step->tactic = "direct (forced)";
  } else {
    for (bool fused : {true, false}) {
      size_t ws = 0;
      auto g = build_cudnn_graph(s, half, fused, step->silu, b.options().tune, b.handles().cudnn, pads[2], pads[3],
                                 step->weight, step->bias_act, &ws);
      if (g.ok()) {
        step->graph = *g;
        step->fused = fused;
        b.need_workspace(ws);
        std::string plan_name;
        if (step->graph->get_plan_name(plan_name).is_bad()) plan_name = "?";
        step->tactic = std::string(fused ? "cudnn_fused:" : "cudnn_conv+bias_act:") + plan_name;
        break;
      }
      why_not += std::string(fused ? " fused: " : " conv-only: ") + g.status().message() + ";";
    }
    if (!step->graph) step->tactic = "direct (cuDNN refused:" + why_not + ")";
  }
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
