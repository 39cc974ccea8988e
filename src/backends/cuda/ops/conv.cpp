// Conv (+ fused bias, SiLU and residual Add), NHWC, through cuDNN 9's graph API (cuDNN
// frontend). Variants tried, in order: conv+bias+SiLU+residual as one cuDNN graph (when the
// conv's (SiLU) output feeds only an Add whose other operand has the same shape);
// conv+bias+SiLU; conv alone followed by our bias/activation kernel; our direct kernel.
// Per variant the engine is the timing cache's choice, else the fastest of cuDNN's first
// candidates timed on the GPU (BuildOptions::tune), else cuDNN's heuristic first choice.
// Convs with one signature share one cuDNN plan. The step's tactic records what was taken.
#include <cudnn_frontend.h>

#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plan.h"
#include "backends/cuda/timing_cache.h"
#include "ir/half.h"

namespace kiln::cuda {
namespace {

namespace fe = cudnn_frontend;

constexpr int64_t kUidX = 1, kUidW = 2, kUidB = 3, kUidY = 4, kUidR = 5;
// Candidates timed per signature: cuDNN's heuristic order puts the fast ones first, and
// each built candidate costs a kernel compile (tens of ms to seconds) for runtime-fusion
// engines; they compile in parallel, one thread each.
constexpr int kTuneCandidates = 6;

Status fe_status(fe::error_t e, const std::string& what) {
  if (e.is_good()) return Status::Ok();
  return error(StatusCode::kUnsupported, what, ": ", e.get_message());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

enum class Variant { kResidual, kFused, kConvOnly };

// One built cuDNN plan, shared by every conv step with the same signature.
struct ConvPlan {
  std::shared_ptr<fe::graph::Graph> graph;
  int64_t plan_index = 0;
  size_t workspace = 0;
  std::string tactic;
};

class ConvStep : public Step {
 public:
  int in = 0, out = 0, residual = -1;
  ConvShape shape{};
  ir::DType type{};
  bool silu = false;
  Variant variant = Variant::kConvOnly;
  const void* weight = nullptr;      // KRSC, activation dtype
  const void* bias_act = nullptr;    // activation dtype, for the fused cuDNN graph
  const float* bias_f32 = nullptr;   // for our kernels
  std::shared_ptr<ConvPlan> plan;    // null: direct kernel

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    if (!plan) {
      Status s = launch_conv_direct_nhwc(st.ptr[in], weight, bias_f32, st.ptr[out], type, shape, silu, stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    KILN_RETURN_IF_ERROR(cudnn_status(cudnnSetStream(st.cudnn, stream), name + ": cudnnSetStream"));
    std::unordered_map<int64_t, void*> pack = {{kUidX, st.ptr[in]},
                                               {kUidW, const_cast<void*>(weight)},
                                               {kUidY, st.ptr[out]}};
    if (variant != Variant::kConvOnly) pack[kUidB] = const_cast<void*>(bias_act);
    if (variant == Variant::kResidual) pack[kUidR] = st.ptr[residual];
    KILN_RETURN_IF_ERROR(fe_status(plan->graph->execute_plan_at_index(st.cudnn, pack, st.workspace, plan->plan_index),
                                   name + ": cuDNN execute"));
    if (variant == Variant::kConvOnly) {
      Status s = launch_bias_act(st.ptr[out], bias_f32, shape.n * shape.oh * shape.ow * shape.k, shape.k, silu, type,
                                 stream);
      return s.ok() ? s : error(s.code(), name, ": ", s.message());
    }
    return Status::Ok();
  }
};

struct ConvRequest {
  ConvShape s;
  int64_t pad_bottom = 0, pad_right = 0;
  Precision precision{};
  Variant variant{};
  bool silu = false;
  const void* weight = nullptr;
  const void* bias = nullptr;

  bool half() const { return precision == Precision::kFp16; }
  std::string signature() const {
    std::ostringstream os;
    os << "conv n" << s.n << " c" << s.c << " h" << s.h << " w" << s.w << " k" << s.k << " r" << s.r << "x" << s.s
       << " st" << s.sh << "," << s.sw << " pad" << s.ph << "," << s.pw << "," << pad_bottom << "," << pad_right
       << " dil" << s.dh << "," << s.dw << " g" << s.groups << " " << precision_name(precision) << " "
       << (variant == Variant::kResidual ? "bias+silu?+add" : variant == Variant::kFused ? "bias+silu?" : "conv")
       << (silu ? " silu" : "");
    return os.str();
  }
};

// The cuDNN operation graph for a request, validated and built (no plans yet).
Result<std::shared_ptr<fe::graph::Graph>> make_graph(const ConvRequest& q, cudnnHandle_t handle) {
  const ConvShape& s = q.s;
  const auto io = q.half() ? fe::DataType_t::HALF : fe::DataType_t::FLOAT;
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
  const int64_t cg = s.c / s.groups;
  auto nhwc = [](int64_t c, int64_t h, int64_t w) { return std::vector<int64_t>{h * w * c, 1, w * c, c}; };
  auto X = g->tensor(fe::graph::Tensor_attributes().set_name("X").set_uid(kUidX).set_data_type(io)
                         .set_dim({s.n, s.c, s.h, s.w}).set_stride(nhwc(s.c, s.h, s.w)));
  auto W = g->tensor(fe::graph::Tensor_attributes().set_name("W").set_uid(kUidW).set_data_type(io)
                         .set_dim({s.k, cg, s.r, s.s}).set_stride(nhwc(cg, s.r, s.s)));
  auto opts = fe::graph::Conv_fprop_attributes()
                  .set_pre_padding({s.ph, s.pw})
                  .set_post_padding({q.pad_bottom, q.pad_right})
                  .set_stride({s.sh, s.sw})
                  .set_dilation({s.dh, s.dw});
  auto Y = g->conv_fprop(X, W, opts);
  if (q.variant != Variant::kConvOnly) {
    Y->set_data_type(fe::DataType_t::FLOAT);
    auto B = g->tensor(fe::graph::Tensor_attributes().set_name("B").set_uid(kUidB).set_data_type(io)
                           .set_dim({1, s.k, 1, 1}).set_stride({s.k, 1, s.k, s.k}));
    Y = g->pointwise(Y, B, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD));
    if (q.silu) {
      Y->set_data_type(fe::DataType_t::FLOAT);
      Y = g->pointwise(Y, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::SWISH_FWD).set_swish_beta(1.f));
    }
    if (q.variant == Variant::kResidual) {
      Y->set_data_type(fe::DataType_t::FLOAT);
      auto R = g->tensor(fe::graph::Tensor_attributes().set_name("R").set_uid(kUidR).set_data_type(io)
                             .set_dim({s.n, s.k, s.oh, s.ow}).set_stride(nhwc(s.k, s.oh, s.ow)));
      Y = g->pointwise(Y, R, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD));
    }
  }
  Y->set_output(true).set_uid(kUidY).set_data_type(io).set_dim({s.n, s.k, s.oh, s.ow}).set_stride(nhwc(s.k, s.oh, s.ow));
  KILN_RETURN_IF_ERROR(fe_status(g->validate(), "validate"));
  KILN_RETURN_IF_ERROR(fe_status(g->build_operation_graph(handle), "build_operation_graph"));
  return g;
}

// Device scratch for timing candidates: activations filled with a non-zero pattern (zeros
// can run faster than real data), real weights and bias.
class Scratch {
 public:
  ~Scratch() {
    for (void* p : ptrs_) cudaFree(p);
  }
  Result<void*> alloc(size_t bytes, bool fill) {
    void* p = nullptr;
    KILN_CUDA_TRY(cudaMalloc(&p, std::max<size_t>(bytes, 16)), "tune: cudaMalloc");
    ptrs_.push_back(p);
    if (fill) KILN_CUDA_TRY(cudaMemset(p, 0x3C, bytes), "tune: cudaMemset");
    return p;
  }

 private:
  std::vector<void*> ptrs_;
};

// Time of one plan: the minimum of five event-timed runs after one warm-up run (the
// minimum is the least disturbed by other work on the GPU).
Result<double> time_plan(fe::graph::Graph& g, int64_t index, cudnnHandle_t handle, std::unordered_map<int64_t, void*>& pack,
                         void* ws) {
  cudaStream_t stream = nullptr;
  KILN_RETURN_IF_ERROR(cudnn_status(cudnnGetStream(handle, &stream), "cudnnGetStream"));
  cudaEvent_t a = nullptr, b = nullptr;
  KILN_CUDA_TRY(cudaEventCreate(&a), "cudaEventCreate");
  Status st = cuda_status(cudaEventCreate(&b), "cudaEventCreate");
  double best = 1e30;
  for (int i = 0; i < 6 && st.ok(); ++i) {  // first run is warm-up
    st = cuda_status(cudaEventRecord(a, stream), "cudaEventRecord");
    if (st.ok()) st = fe_status(g.execute_plan_at_index(handle, pack, ws, index), "execute");
    if (st.ok()) st = cuda_status(cudaEventRecord(b, stream), "cudaEventRecord");
    if (st.ok()) st = cuda_status(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    if (st.ok()) st = cuda_status(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    if (st.ok() && i > 0) best = std::min(best, static_cast<double>(ms));
  }
  cudaEventDestroy(a);
  if (b) cudaEventDestroy(b);
  KILN_RETURN_IF_ERROR(st);
  return best;
}

std::string plan_name(const fe::graph::Graph& g, int64_t index) {
  std::string n;
  if (g.get_plan_name_at_index(index, n).is_bad()) n = "?";
  return n;
}

// Builds the plan a timing-cache entry names; Unsupported if that engine no longer fits.
Result<std::shared_ptr<ConvPlan>> plan_from_cache(const ConvRequest& q, const TunedChoice& c, PlanBuilder& b) {
  auto t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(auto g, make_graph(q, b.handles().cudnn));
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  for (auto [k, v] : c.knobs) knobs[static_cast<fe::KnobType_t>(k)] = v;
  KILN_RETURN_IF_ERROR(fe_status(g->create_execution_plan(c.engine_id, knobs), "create_execution_plan"));
  KILN_RETURN_IF_ERROR(fe_status(g->check_support(), "check_support"));
  b.stats().heuristics_s += seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  Status st = fe_status(g->build_plan_at_index(0), "build_plan_at_index");
  b.stats().compile_s += seconds_since(t0);
  KILN_RETURN_IF_ERROR(st);
  auto p = std::make_shared<ConvPlan>();
  p->graph = g;
  p->plan_index = 0;
  int64_t ws = 0;
  KILN_RETURN_IF_ERROR(fe_status(g->get_workspace_size_plan_at_index(0, ws), "get_workspace_size"));
  p->workspace = static_cast<size_t>(ws);
  p->tactic = plan_name(*g, 0) + " (cached)";
  return p;
}

// A graph with cuDNN's candidate list (heuristics A, then fallback), filtered for the
// precision.
Result<std::shared_ptr<fe::graph::Graph>> graph_with_candidates(const ConvRequest& q, cudnnHandle_t handle) {
  KILN_ASSIGN_OR_RETURN(auto g, make_graph(q, handle));
  KILN_RETURN_IF_ERROR(fe_status(g->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}),
                                 "create_execution_plans"));
  // FP32 means FP32: no TF32 tensor-core engines (they would cost ~1e-3 relative error).
  if (q.precision == Precision::kFp32) g->deselect_numeric_notes({fe::NumericalNote_t::TENSOR_CORE});
  KILN_RETURN_IF_ERROR(fe_status(g->check_support(), "check_support"));
  return g;
}

// One candidate compiled on a worker thread, in a graph (and cuDNN handle) of its own: the
// frontend's plan list is not safe to build from several threads.
struct Candidate {
  std::shared_ptr<fe::graph::Graph> graph;
  int64_t index = 0;
  bool built = false;
};

// Heuristic candidates: the first one that builds (no tuning), or the fastest of the first
// kTuneCandidates that build, compiled in parallel and timed on scratch buffers.
Result<std::shared_ptr<ConvPlan>> plan_by_search(const ConvRequest& q, PlanBuilder& b, bool tune) {
  auto t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(auto g, graph_with_candidates(q, b.handles().cudnn));
  b.stats().heuristics_s += seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  const int64_t count = g->get_execution_plan_count();
  std::vector<Candidate> cands;
  std::string last_error = "no candidate engine";
  if (!tune) {
    for (int64_t i = 0; i < count && cands.empty(); ++i) {
      auto e = g->build_plan_at_index(i);
      if (e.is_good()) cands.push_back({g, i, true});
      else last_error = e.get_message();
    }
  } else {
    const int n = static_cast<int>(std::min<int64_t>(count, kTuneCandidates));
    cands.resize(n);
    std::vector<cudnnHandle_t> handles(n, nullptr);
    for (int i = 1; i < n; ++i) {
      KILN_ASSIGN_OR_RETURN(handles[i], b.worker_cudnn(i - 1));
    }
    int device = 0;
    KILN_CUDA_TRY(cudaGetDevice(&device), "cudaGetDevice");
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      cands[i].index = i;
      if (i == 0) continue;
      threads.emplace_back([&, i] {
        // A fresh thread has no current CUDA context; some engines use the driver API.
        if (cudaSetDevice(device) != cudaSuccess) return;
        auto gi = graph_with_candidates(q, handles[i]);
        if (gi.ok() && (*gi)->get_execution_plan_count() > i && (*gi)->build_plan_at_index(i).is_good()) {
          cands[i].graph = *gi;
          cands[i].built = true;
        }
      });
    }
    auto e = g->build_plan_at_index(0);
    if (e.is_good()) cands[0] = {g, 0, true};
    else last_error = e.get_message();
    for (auto& t : threads) t.join();
    cands.erase(std::remove_if(cands.begin(), cands.end(), [](const Candidate& c) { return !c.built; }), cands.end());
    // Past the first few, walk on serially until something builds.
    for (int64_t i = n; i < count && cands.empty(); ++i) {
      auto ei = g->build_plan_at_index(i);
      if (ei.is_good()) cands.push_back({g, i, true});
      else last_error = ei.get_message();
    }
  }
  b.stats().compile_s += seconds_since(t0);
  if (cands.empty()) return error(StatusCode::kUnsupported, "build_plans: ", last_error);

  auto p = std::make_shared<ConvPlan>();
  p->graph = cands[0].graph;
  p->plan_index = cands[0].index;
  if (tune && cands.size() > 1) {
    t0 = std::chrono::steady_clock::now();
    const size_t es = q.half() ? 2 : 4;
    const ConvShape& s = q.s;
    int64_t ws_max = 0;
    for (const Candidate& c : cands) {
      int64_t ws = 0;
      if (c.graph->get_workspace_size_plan_at_index(c.index, ws).is_good()) ws_max = std::max(ws_max, ws);
    }
    Scratch scratch;
    KILN_ASSIGN_OR_RETURN(void* x, scratch.alloc(s.n * s.h * s.w * s.c * es, true));
    KILN_ASSIGN_OR_RETURN(void* y, scratch.alloc(s.n * s.oh * s.ow * s.k * es, false));
    KILN_ASSIGN_OR_RETURN(void* ws, scratch.alloc(static_cast<size_t>(ws_max), false));
    std::unordered_map<int64_t, void*> pack = {{kUidX, x}, {kUidW, const_cast<void*>(q.weight)}, {kUidY, y}};
    if (q.variant != Variant::kConvOnly) pack[kUidB] = const_cast<void*>(q.bias);
    if (q.variant == Variant::kResidual) {
      KILN_ASSIGN_OR_RETURN(void* r, scratch.alloc(s.n * s.oh * s.ow * s.k * es, true));
      pack[kUidR] = r;
    }
    double best = 1e30;
    for (const Candidate& c : cands) {
      auto ms = time_plan(*c.graph, c.index, b.handles().cudnn, pack, ws);
      if (ms.ok() && *ms < best) {
        best = *ms;
        p->graph = c.graph;
        p->plan_index = c.index;
      }
    }
    b.stats().tune_s += seconds_since(t0);
    if (best >= 1e30) return error(StatusCode::kUnsupported, "no candidate engine ran");
    ++b.stats().tuned;
    if (TimingCache* cache = b.timing_cache()) {
      TunedChoice c;
      std::unordered_map<fe::KnobType_t, int64_t> knobs;
      if (p->graph->get_engine_and_knobs_at_index(p->plan_index, c.engine_id, knobs).is_good()) {
        for (auto [k, v] : knobs) c.knobs.push_back({static_cast<int64_t>(k), v});
        std::sort(c.knobs.begin(), c.knobs.end());
        c.ms = best;
        cache->put(b.device_key() + "|" + q.signature(), c);
      }
    }
  }
  int64_t ws = 0;
  KILN_RETURN_IF_ERROR(fe_status(p->graph->get_workspace_size_plan_at_index(p->plan_index, ws), "get_workspace_size"));
  p->workspace = static_cast<size_t>(ws);
  p->tactic = plan_name(*p->graph, p->plan_index);
  return p;
}

// The shared plan for a request: built once per signature per engine build.
Result<std::shared_ptr<ConvPlan>> get_plan(const ConvRequest& q, PlanBuilder& b) {
  const std::string sig = q.signature();
  auto& shared = b.shared_plans();
  if (auto it = shared.find(sig); it != shared.end()) {
    if (!it->second) return error(StatusCode::kUnsupported, "refused earlier");
    return std::static_pointer_cast<ConvPlan>(it->second);
  }
  Result<std::shared_ptr<ConvPlan>> p = error(StatusCode::kUnsupported, "no plan");
  if (TimingCache* cache = b.timing_cache(); cache && b.options().tune) {
    if (auto c = cache->find(b.device_key() + "|" + sig)) {
      p = plan_from_cache(q, *c, b);
      if (p.ok()) ++b.stats().cache_hits;
    }
  }
  if (!p.ok()) p = plan_by_search(q, b, b.options().tune);
  shared[sig] = p.ok() ? std::static_pointer_cast<void>(*p) : nullptr;
  if (p.ok()) ++b.stats().conv_signatures;
  return p;
}

// The Add that a conv's (SiLU) output feeds alone, and the slot of its other operand, when
// that operand has the conv output's shape and is computed already.
struct Residual {
  const ir::Node* add = nullptr;
  int slot = -1;
};
Residual find_residual(PlanBuilder& b, const ir::Value* y, const std::vector<int64_t>& dims) {
  const ir::Node* add = b.sole_consumer(y);
  if (!add || add->op_type != "Add" || add->inputs.size() != 2 || add->outputs.size() != 1) return {};
  const size_t other = add->input(0) == y ? 1 : 0;
  if (add->input(other) == y || !add->input(other) || add->input(other)->is_constant()) return {};
  const ir::Value* r = add->input(other);
  if (!r->shape || !ir::is_static(*r->shape) || ir::static_dims(*r->shape) != dims) return {};
  auto slot = b.input(*add, other, Layout::kNHWC);
  if (!slot.ok()) return {};
  return {add, *slot};
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
  step->name = node.name;
  ++b.stats().convs;

  // Variants in order of preference. Strict FP32 (the reference mode) runs cuDNN's plain
  // convs and our bias+SiLU kernel: cuDNN's fused FP32 graphs have only runtime-compiled,
  // non-tensor-core engines, measured on an H200 at 12.6 ms per yolo11n image with ~35 s of
  // compiles, against precompiled plain conv kernels.
  const Precision prec = b.options().precision;
  Residual res;
  if (b.options().fuse_residual && prec != Precision::kFp32) res = find_residual(b, out_value, {s.n, s.k, s.oh, s.ow});
  std::vector<Variant> variants;
  if (res.add) variants.push_back(Variant::kResidual);
  if (prec != Precision::kFp32) variants.push_back(Variant::kFused);
  variants.push_back(Variant::kConvOnly);

  std::string why_not;
  if (b.options().direct_conv) {
    step->tactic = "direct (forced)";
  } else {
    for (Variant v : variants) {
      ConvRequest q{s, pads[2], pads[3], prec, v, step->silu, step->weight, step->bias_act};
      auto p = get_plan(q, b);
      if (!p.ok()) {
        why_not += std::string(v == Variant::kResidual ? " residual: " : v == Variant::kFused ? " fused: " : " conv-only: ") +
                   p.status().message() + ";";
        continue;
      }
      step->plan = *p;
      step->variant = v;
      b.need_workspace((*p)->workspace);
      step->tactic = std::string(v == Variant::kResidual ? "cudnn_fused+add:" : v == Variant::kFused ? "cudnn_fused:"
                                                                                                     : "cudnn_conv+bias_act:") +
                     (*p)->tactic;
      break;
    }
    if (!step->plan) step->tactic = "direct (cuDNN refused:" + why_not + ")";
  }
  if (step->variant == Variant::kResidual) {
    b.skip_node(res.add);
    out_value = res.add->outputs[0];
    step->residual = res.slot;
    ++b.stats().residual_fused;
  }
  step->out = b.define(out_value, {s.n, s.k, s.oh, s.ow}, Layout::kNHWC);
  step->reads = {step->in};
  if (step->residual >= 0) step->reads.push_back(step->residual);
  step->writes = {step->out};
  b.add_step(std::move(step));
  return Status::Ok();
}

}  // namespace kiln::cuda
