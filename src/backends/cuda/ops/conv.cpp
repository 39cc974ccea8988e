// Conv (+ fused bias, activation and residual Add), NHWC. A channel gate's convs and a 1x1
// conv feeding a depthwise one alone are steps of their own (plan_channel_gate,
// plan_pointwise_depthwise). A conv reading the graph's FP32 NCHW input with few channels
// (the stem) runs our conv_nchw_input kernel, with no convert before it (at FP16 on tensor
// cores where its window has 64 taps or more, conv_nchw_input_mma_fits; else quantizing its
// output in the store where a QuantizeLinear alone reads it); a depthwise conv
// runs our conv_depthwise kernel, its activation fused, where that was measured faster than
// cuDNN's plan (OSNet's, not yolo11n's SiLU ones). Otherwise cuDNN (conv_cudnn.h), variants
// tried in order: conv+bias+activation+residual as one cuDNN graph (when the conv's
// (activated) output feeds only an Add whose other operand has the same shape), with the
// activation that alone reads the Add's output if there is one, then without;
// conv+bias+activation; conv alone followed by our bias/SiLU kernel; then our direct kernel.
// An engine without runtime-compiled kernels (a dynamic model's first engine for an input
// size) runs FP16 convs on our tensor-core kernel (conv_mma.h), the activation fused, and
// FP32 ones as cuDNN's plain conv; a tuned FP16 build times that kernel against cuDNN's plan
// for the convs it can take as they stand. The activation is the SiLU, ReLU or Sigmoid that
// alone reads the conv; ReLU and Sigmoid fold only into cuDNN's graphs and the depthwise,
// mma and stem kernels. Convs with one signature share one cuDNN plan. The step's tactic
// records what was taken.
#include <algorithm>
#include <optional>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/conv_cudnn.h"
#include "backends/cuda/ops/conv_mma.h"
#include "backends/cuda/plan.h"
#include "backends/cuda/tune_util.h"
#include "core/half.h"

namespace kiln::cuda {
namespace {

class ConvStep : public Step {
 public:
  int in = 0, out = 0, residual = -1;
  ConvShape shape{};
  ir::DType type{};
  ConvAct act = ConvAct::kNone;     // applied by our kernels (all but depthwise, mma and stem: SiLU only)
  bool depthwise = false;           // conv_depthwise kernel, weights [R][S][K]
  std::optional<MmaTile> mma;       // set: our FP16 tensor-core kernel with this tile
  ConvVariant variant = ConvVariant::kConvOnly;
  const void* weight = nullptr;      // KRSC (depthwise: RSK), activation dtype
  const void* bias_act = nullptr;    // activation dtype, for the fused cuDNN graph
  const float* bias_f32 = nullptr;   // for our kernels
  const void* weight_nchw = nullptr;  // set: `in` is FP32 NCHW, conv_nchw_input kernel (its weight form)
  bool nchw_tensor_cores = false;     // that kernel on tensor cores
  OutputQuant quant;                  // that kernel's int8 output (type kInt8)
  std::shared_ptr<ConvPlan> plan;    // null: direct kernel

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    if (weight_nchw) {
      Status s = launch_conv_nchw_input(static_cast<const float*>(st.ptr[in]), weight_nchw, bias_f32, st.ptr[out], type,
                                        shape, act, nchw_tensor_cores, quant, stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    if (depthwise) {
      Status s = launch_conv_depthwise_nhwc(st.ptr[in], weight, bias_f32, st.ptr[out], type, shape, act, stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    if (mma) {
      Status s = launch_conv_mma_fp16({shape, *mma, st.ptr[in], weight, bias_f32, act, st.ptr[out]}, stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    if (!plan) {
      Status s = launch_conv_direct_nhwc(st.ptr[in], weight, bias_f32, st.ptr[out], type, shape,
                                         act == ConvAct::kSiLU, stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    KILN_RETURN_IF_ERROR(cudnn_status(cudnnSetStream(st.cudnn, stream), name + ": cudnnSetStream"));
    std::unordered_map<int64_t, void*> pack = {{kConvUidX, st.ptr[in]},
                                               {kConvUidW, const_cast<void*>(weight)},
                                               {kConvUidY, st.ptr[out]}};
    if (variant != ConvVariant::kConvOnly) pack[kConvUidB] = const_cast<void*>(bias_act);
    if (variant == ConvVariant::kResidual) pack[kConvUidR] = st.ptr[residual];
    auto e = plan->graph->execute_plan_at_index(st.cudnn, pack, st.workspace, plan->plan_index);
    if (e.is_bad()) return error(StatusCode::kInternal, name, ": cuDNN execute: ", e.get_message());
    if (variant == ConvVariant::kConvOnly) {
      Status s = launch_bias_act(st.ptr[out], bias_f32, shape.n * shape.oh * shape.ow * shape.k, shape.k,
                                 act == ConvAct::kSiLU, type, stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    return Status::Ok();
  }
};

// A Conv node's geometry and the fusions open to it, read from the graph (no slots or
// steps are made).
struct ConvDesc {
  ConvShape s{};
  int64_t pad_bottom = 0, pad_right = 0;
  const ir::Tensor* weight = nullptr;
  const ir::Node* act = nullptr;   // the activation folded in, if any (ConvAct)
  ConvAct act_kind = ConvAct::kNone;
  const ir::Node* add = nullptr;   // the Add the conv (+activation) output alone feeds, if foldable
  const ir::Node* post = nullptr;  // the activation that alone reads that Add's output, if any
  ConvAct post_kind = ConvAct::kNone;
  const ir::Value* out = nullptr;  // what the conv (+activation) produces
};

// The activation n computes, as a conv graph applies it (kNone for any other op).
ConvAct activation_of(const ir::Node* n) {
  if (!n || n->outputs.size() != 1) return ConvAct::kNone;
  return n->op_type == "SiLU"      ? ConvAct::kSiLU
         : n->op_type == "Relu"    ? ConvAct::kRelu
         : n->op_type == "Sigmoid" ? ConvAct::kSigmoid
                                   : ConvAct::kNone;
}

// The Add that y feeds alone, when its other operand is a runtime value of y's shape.
const ir::Node* residual_add(const PlanBuilder& b, const ir::Value* y, const std::vector<int64_t>& dims) {
  const ir::Node* add = b.sole_consumer(y);
  if (!add || add->op_type != "Add" || add->inputs.size() != 2 || add->outputs.size() != 1) return nullptr;
  const ir::Value* r = add->input(add->input(0) == y ? 1 : 0);
  if (!r || r == y || r->is_constant() || !r->shape || !ir::is_static(*r->shape) || ir::static_dims(*r->shape) != dims)
    return nullptr;
  return add;
}

Result<ConvDesc> describe(const PlanBuilder& b, const ir::Node& node, const std::vector<int64_t>& in_dims) {
  ConvDesc d;
  d.weight = b.constant_input(node, 1);
  const ir::Tensor* w = d.weight;
  if (!w || w->rank() != 4) return error(StatusCode::kUnsupported, "weights must be a constant 4-D tensor");
  if (node.input(2) && !b.constant_input(node, 2)) return error(StatusCode::kUnsupported, "bias must be constant");
  if (node.attr_string("auto_pad", "NOTSET") != "NOTSET") return error(StatusCode::kUnsupported, "auto_pad");
  const auto strides = node.attr_ints("strides", {1, 1});
  const auto pads = node.attr_ints("pads", {0, 0, 0, 0});
  const auto dil = node.attr_ints("dilations", {1, 1});
  if (strides.size() != 2 || pads.size() != 4 || dil.size() != 2 || in_dims.size() != 4)
    return error(StatusCode::kUnsupported, "only 2-D convs");
  ConvShape& s = d.s;
  s.n = in_dims[0];
  s.c = in_dims[1];
  s.h = in_dims[2];
  s.w = in_dims[3];
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
                 ir::shape_to_string(in_dims), " with group ", s.groups);
  s.oh = (s.h + pads[0] + pads[2] - s.dh * (s.r - 1) - 1) / s.sh + 1;
  s.ow = (s.w + pads[1] + pads[3] - s.dw * (s.s - 1) - 1) / s.sw + 1;
  d.pad_bottom = pads[2];
  d.pad_right = pads[3];
  d.out = node.outputs[0];
  if (const ir::Node* next = b.sole_consumer(d.out); activation_of(next) != ConvAct::kNone) {
    d.act = next;
    d.act_kind = activation_of(next);
    d.out = next->outputs[0];
  }
  // Strict FP32 (the reference mode) runs cuDNN's plain convs and our bias+SiLU kernel:
  // cuDNN's fused FP32 graphs have only runtime-compiled, non-tensor-core engines, measured
  // on an H200 at 12.6 ms per yolo11n image with ~35 s of compiles.
  if (b.options().fuse_residual && float_precision(b.options()) != Precision::kFp32)
    d.add = residual_add(b, d.out, {s.n, s.k, s.oh, s.ow});
  if (d.add) {
    d.post = b.sole_consumer(d.add->outputs[0]);
    d.post_kind = activation_of(d.post);
    if (d.post_kind == ConvAct::kNone) d.post = nullptr;
  }
  return d;
}

// cuDNN variants in order of preference. Fused graphs have only runtime-compiled engines:
// without those, a plain conv.
std::vector<ConvVariant> variants(const PlanBuilder& b, bool residual) {
  if (!b.options().runtime_compiled_kernels) return {ConvVariant::kConvOnly};
  std::vector<ConvVariant> v;
  if (residual) v.push_back(ConvVariant::kResidual);
  if (float_precision(b.options()) != Precision::kFp32) v.push_back(ConvVariant::kFused);
  v.push_back(ConvVariant::kConvOnly);
  return v;
}

ConvRequest request(const PlanBuilder& b, const ConvDesc& d, ConvVariant v) {
  // A plain conv's graph computes no activation: our kernel after it applies SiLU only.
  const ConvAct act = v == ConvVariant::kConvOnly && d.act_kind != ConvAct::kSiLU ? ConvAct::kNone : d.act_kind;
  ConvRequest q{d.s, d.pad_bottom, d.pad_right, float_precision(b.options()), v, act};
  q.precompiled_only = !b.options().runtime_compiled_kernels;
  return q;
}

// Whether our kernel for d runs faster than cuDNN's plan for it (prefer_own_kernel), timed
// on scratch operands: launch(x, weights of weight_elems, bias, y, stream).
template <typename Launch>
Result<bool> own_kernel_beats_cudnn(PlanBuilder& b, const ConvDesc& d, int64_t weight_elems, Launch launch) {
  const ConvShape& s = d.s;
  const size_t es = ir::dtype_size(b.act_dtype());
  TuneScratch scratch;
  void *x = nullptr, *w = nullptr, *bias = nullptr, *y = nullptr;
  return prefer_own_kernel(request(b, d, variants(b, false).front()), b, [&](cudaStream_t stream) -> Status {
    if (!x) {
      KILN_ASSIGN_OR_RETURN(x, scratch.alloc(s.n * s.h * s.w * s.c * es));
      KILN_ASSIGN_OR_RETURN(w, scratch.alloc(weight_elems * es));
      KILN_ASSIGN_OR_RETURN(bias, scratch.alloc(s.k * sizeof(float)));
      KILN_ASSIGN_OR_RETURN(y, scratch.alloc(s.n * s.oh * s.ow * s.k * es));
    }
    return launch(x, w, static_cast<const float*>(bias), y, stream);
  });
}

// Our depthwise kernel against cuDNN. Either way the conv reads a packed input and folds no Add.
Result<bool> depthwise_beats_cudnn(PlanBuilder& b, const ConvDesc& d) {
  return own_kernel_beats_cudnn(b, d, d.s.r * d.s.s * d.s.k,
                                [&](void* x, void* w, const float* bias, void* y, cudaStream_t stream) {
                                  return launch_conv_depthwise_nhwc(x, w, bias, y, b.act_dtype(), d.s, d.act_kind, stream);
                                });
}

// Our FP16 tensor-core kernel against cuDNN's tuned plan (bias and activation fused in both).
Result<bool> mma_beats_cudnn(PlanBuilder& b, const ConvDesc& d, MmaTile tile) {
  return own_kernel_beats_cudnn(b, d, d.s.k * d.s.r * d.s.s * (d.s.c / d.s.groups),
                                [&](void* x, void* w, const float* bias, void* y, cudaStream_t stream) {
                                  return launch_conv_mma_fp16({d.s, tile, x, w, bias, d.act_kind, y}, stream);
                                });
}

// The QuantizeLinear that alone reads y, per tensor to int8 with a constant scale and zero
// point (an INT8 engine's first INT8 conv reading the stem), with those in `quant`; else null.
const ir::Node* sole_quantize(const PlanBuilder& b, const ir::Value* y, OutputQuant& quant) {
  const ir::Node* q = b.sole_consumer(y);
  if (!q || q->op_type != "QuantizeLinear" || q->input(0) != y || !q->input(2)) return nullptr;
  const ir::Tensor* scale = b.constant_input(*q, 1);
  const ir::Tensor* zero = b.constant_input(*q, 2);
  if (!scale || scale->dtype() != ir::DType::kFloat32 || scale->numel() != 1 || !zero ||
      zero->dtype() != ir::DType::kInt8 || zero->numel() != 1)
    return nullptr;
  quant = {scale->data<float>()[0], zero->data<int8_t>()[0]};
  return q;
}

// cuDNN reads a channel view (concat_views.h) of the activation dtype through its strides;
// our kernels need packed tensors.
bool reads_as_view(const PlanBuilder& b, const Slot& s) {
  return !b.options().direct_conv && !s.packed() && s.dtype == b.act_dtype();
}

}  // namespace

Status plan_conv(PlanBuilder& b, const ir::Node& node) {
  KILN_ASSIGN_OR_RETURN(const bool gate, plan_channel_gate(b, node));
  if (gate) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(const bool pointwise_depthwise, plan_pointwise_depthwise(b, node));
  if (pointwise_depthwise) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(const int raw_in, b.input_as_is(node, 0));
  const Slot src = b.slot(raw_in);
  KILN_ASSIGN_OR_RETURN(const ConvDesc d, describe(b, node, src.dims));
  auto step = std::make_unique<ConvStep>();
  const ConvShape& s = step->shape = d.s;
  const bool nchw_input = !b.options().direct_conv && src.dtype == ir::DType::kFloat32 &&
                          src.layout == Layout::kLinear && !src.constant && conv_nchw_input_fits(s);
  const bool depthwise_fits = !b.options().direct_conv && !nchw_input && conv_depthwise_fits(s);
  if (depthwise_fits) {
    KILN_ASSIGN_OR_RETURN(step->depthwise, depthwise_beats_cudnn(b, d));
  }
  step->nchw_tensor_cores = nchw_input && b.act_dtype() == ir::DType::kFloat16 && conv_nchw_input_mma_fits(s) &&
                            mma_kernels_available();
  const ir::Node* quantize = nchw_input && !step->nchw_tensor_cores ? sole_quantize(b, d.out, step->quant) : nullptr;
  // Without runtime-compiled kernels, FP16 convs run our tensor-core kernel: nothing to plan
  // per shape, and its code serves every input size. A tuned build times it against cuDNN's
  // plan where it can take the conv as it stands: a packed input, an output not written
  // into a Concat buffer, no Add to fold (small convs, e.g. OSNet's 1x1s at batch 20-32,
  // where cuDNN's best is a generic kernel).
  const bool mma_fits = !b.options().direct_conv && !nchw_input && !depthwise_fits &&
                        b.act_dtype() == ir::DType::kFloat16 && conv_mma_fp16_fits(s) && mma_kernels_available();
  if (mma_fits && !b.options().runtime_compiled_kernels) {
    step->mma = choose_mma_tile(s);
  } else if (mma_fits && b.options().tune && b.timing_cache() && !d.add && src.packed() &&
             b.placed_pixel_stride(d.out) == 0) {
    const MmaTile tile = choose_mma_tile(s);
    KILN_ASSIGN_OR_RETURN(const bool own, mma_beats_cudnn(b, d, tile));
    if (own) step->mma = tile;
  }
  if (nchw_input || (!depthwise_fits && !step->mma && reads_as_view(b, src))) {
    step->in = raw_in;
  } else {
    KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
  }

  // Weights KCRS -> KRSC in the activation dtype; bias in FP32 and in the activation dtype.
  const bool half = b.act_dtype() == ir::DType::kFloat16;
  const int64_t cg = s.c / s.groups;
  std::vector<float> bias(static_cast<size_t>(s.k), 0.f);
  if (const ir::Tensor* bt = b.constant_input(node, 2)) {
    ir::Tensor bf = bt->to_float32();
    if (bf.numel() != s.k) return error(StatusCode::kInvalidArgument, "bias has ", bf.numel(), " values for ", s.k, " channels");
    std::copy(bf.data<float>(), bf.data<float>() + s.k, bias.begin());
  }
  auto as_bytes = [](const void* p, size_t n) {
    const auto* u = static_cast<const uint8_t*>(p);
    return std::vector<uint8_t>(u, u + n);
  };
  auto act_bytes = [&](const std::vector<float>& v) {
    if (!half) return as_bytes(v.data(), v.size() * 4);
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = kiln::float_to_half(v[i]);
    return as_bytes(h.data(), h.size() * 2);
  };
  auto upload_act = [&](const std::vector<float>& v, const std::string& what) -> Result<const void*> {
    const std::vector<uint8_t> bytes = act_bytes(v);
    return b.upload(bytes.data(), bytes.size(), what);
  };
  KILN_ASSIGN_OR_RETURN(const void* bias_f32, b.upload(bias.data(), bias.size() * 4, node.name + " bias"));
  step->bias_f32 = static_cast<const float*>(bias_f32);
  // The weights in the form this step reads, converted once per model: engines of its other
  // sizes share the weight store and find the form there.
  const ir::Tensor& w = *d.weight;
  const std::string source = ir::shape_to_string(w.shape()) + " " + std::string(ir::dtype_name(w.dtype()));
  if (nchw_input) {
    // KCRS FP32, or on tensor cores [K][padded taps] FP16 (conv_nchw_input_mma_weights).
    const bool mma = step->nchw_tensor_cores;
    auto nchw_form = [&] {
      const ir::Tensor wf = w.to_float32();
      if (!mma) return as_bytes(wf.raw(), wf.nbytes());
      const std::vector<uint16_t> h = conv_nchw_input_mma_weights(s, wf.data<float>());
      return as_bytes(h.data(), h.size() * 2);
    };
    const std::string form = (mma ? "K x taps f16 (stem mma) of " : "KCRS f32 of ") + source;
    KILN_ASSIGN_OR_RETURN(step->weight_nchw, b.weights()->upload_derived(w.raw(), w.nbytes(), form, nchw_form,
                                                                         node.name + " weights"));
  } else {
    // KRSC for cuDNN and the direct kernel; RSK (cg is 1) for the depthwise kernel's vectors.
    const bool rsk = step->depthwise;
    auto krsc_act = [&] {
      const ir::Tensor wf = w.to_float32();
      std::vector<float> krsc(static_cast<size_t>(wf.numel()));
      for (int64_t k = 0; k < s.k; ++k)
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t r = 0; r < s.r; ++r)
            for (int64_t q = 0; q < s.s; ++q)
              krsc[rsk ? (r * s.s + q) * s.k + k : ((k * s.r + r) * s.s + q) * cg + c] =
                  wf.data<float>()[((k * cg + c) * s.r + r) * s.s + q];
      return act_bytes(krsc);
    };
    const std::string form = std::string(rsk ? "RSK " : "KRSC ") + (half ? "f16" : "f32") + " of " + source;
    KILN_ASSIGN_OR_RETURN(step->weight,
                          b.weights()->upload_derived(w.raw(), w.nbytes(), form, krsc_act, node.name + " weights"));
    KILN_ASSIGN_OR_RETURN(step->bias_act, upload_act(bias, node.name + " bias"));
  }

  if (d.act_kind == ConvAct::kSiLU || ((step->depthwise || step->mma || nchw_input) && d.act)) {
    step->act = d.act_kind;
    b.skip_node(d.act);
  }
  const ir::Value* out_value = d.out;
  step->type = b.act_dtype();
  if (quantize) {
    b.skip_node(quantize);
    out_value = quantize->outputs[0];
    step->type = ir::DType::kInt8;
  }
  step->name = node.name;
  ++b.stats().convs;

  // The residual operand must be computed already to be read by the fused graph.
  const size_t residual_input = d.add && d.add->input(0) == d.out ? 1 : 0;
  int residual_slot = -1;
  if (!nchw_input && !depthwise_fits && !step->mma && d.add) {
    auto raw = b.input_as_is(*d.add, residual_input);
    if (raw.ok() && reads_as_view(b, b.slot(*raw))) {
      residual_slot = *raw;
    } else {
      auto slot = b.input(*d.add, residual_input, Layout::kNHWC);
      if (slot.ok()) residual_slot = *slot;
    }
  }

  // The first variant cuDNN builds, its output written in place in a Concat buffer when it
  // was placed there (concat_views.h) and cuDNN takes the strided output, else packed.
  std::string why_not;
  int64_t y_stride = 0;
  // A recorded plan this machine cannot restore, or a cancelled build: no variant is tried.
  Status replay_error = Status::Ok();
  bool post_folded = false;  // d.post computed by the residual graph
  auto try_variants = [&] {
    for (ConvVariant v : variants(b, residual_slot >= 0)) {
      // A residual graph takes the activation after its Add too where cuDNN builds that.
      for (bool post : v == ConvVariant::kResidual && d.post ? std::vector<bool>{true, false} : std::vector<bool>{false}) {
        const ir::Value* y = post ? d.post->outputs[0] : v == ConvVariant::kResidual ? d.add->outputs[0] : d.out;
        // Our bias/activation kernel after a plain conv indexes a packed output.
        const int64_t placed = v == ConvVariant::kConvOnly ? 0 : b.placed_pixel_stride(y);
        for (int64_t ys : placed ? std::vector<int64_t>{placed, 0} : std::vector<int64_t>{0}) {
          ConvRequest q = request(b, d, v);
          q.post_act = post ? d.post_kind : ConvAct::kNone;
          q.x_stride = b.slot(step->in).pixel_stride;
          q.y_stride = ys;
          q.r_stride = v == ConvVariant::kResidual ? b.slot(residual_slot).pixel_stride : 0;
          auto p = get_conv_plan(q, b);
          if (!p.ok() && (p.status().code() == StatusCode::kIncompatible || p.status().code() == StatusCode::kCancelled)) {
            replay_error = p.status();
            return;
          }
          if (!p.ok()) {
            why_not += std::string(v == ConvVariant::kResidual ? " residual: "
                                   : v == ConvVariant::kFused  ? " fused: "
                                                               : " conv-only: ") +
                       p.status().message() + ";";
            continue;
          }
          step->plan = *p;
          step->variant = v;
          post_folded = post;
          y_stride = ys;
          b.need_workspace((*p)->workspace);
          const std::string kind = v == ConvVariant::kResidual ? "cudnn_fused+add" + (post ? "+" + d.post->op_type : "")
                                   : v == ConvVariant::kFused  ? "cudnn_fused"
                                                               : "cudnn_conv+bias_act";
          step->tactic = kind + ":" + (*p)->tactic;
          return;
        }
      }
    }
  };
  if (nchw_input) {
    step->tactic = step->nchw_tensor_cores ? "conv_nchw_input_mma"
                   : quantize              ? "conv_nchw_input+quantize"
                                           : "conv_nchw_input";
  } else if (step->depthwise) {
    step->tactic = "conv_depthwise";
  } else if (step->mma) {
    step->tactic = std::string("conv_mma_fp16_") + mma_tile_name(*step->mma);
  } else if (b.options().direct_conv) {
    step->tactic = "direct (forced)";
  } else {
    try_variants();
    // cuDNN refusing the strided operands: read packed copies instead.
    const bool views = !b.slot(step->in).packed() || (residual_slot >= 0 && !b.slot(residual_slot).packed());
    if (!step->plan && views) {
      KILN_ASSIGN_OR_RETURN(step->in, b.input(node, 0, Layout::kNHWC));
      if (residual_slot >= 0) {
        KILN_ASSIGN_OR_RETURN(residual_slot, b.input(*d.add, residual_input, Layout::kNHWC));
      }
      if (replay_error.ok()) try_variants();
    }
    if (!replay_error.ok()) return error(replay_error.code(), node.name, ": ", replay_error.message());
    if (!step->plan) step->tactic = "direct (cuDNN refused:" + why_not + ")";
  }
  if (step->variant == ConvVariant::kResidual) {
    b.skip_node(d.add);
    out_value = d.add->outputs[0];
    step->residual = residual_slot;
    ++b.stats().residual_fused;
  }
  if (post_folded) {
    b.skip_node(d.post);
    out_value = d.post->outputs[0];
  }
  // A ReLU or Sigmoid that no cuDNN graph took runs as a step of its own, on the conv's output.
  if (d.act && d.act_kind != ConvAct::kSiLU && !step->depthwise && !step->mma && !nchw_input) {
    if (step->plan && step->variant != ConvVariant::kConvOnly) b.skip_node(d.act);
    else out_value = node.outputs[0];
  }
  const std::vector<int64_t> out_dims = {s.n, s.k, s.oh, s.ow};
  step->out =
      y_stride ? b.define_placed(out_value, out_dims) : b.define(out_value, out_dims, Layout::kNHWC, step->type);
  step->reads = {step->in};
  if (step->residual >= 0) step->reads.push_back(step->residual);
  step->writes = {step->out};
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
