#include "backends/cuda/ops/conv_cudnn.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/timing_cache.h"
#include "backends/cuda/tune_util.h"

namespace kiln::cuda {
namespace {

namespace fe = cudnn_frontend;

Status fe_status(fe::error_t e, const std::string& what) {
  if (e.is_good()) return Status::Ok();
  return error(StatusCode::kUnsupported, what, ": ", e.get_message());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A frontend graph that also tells each candidate engine's numerical notes (the frontend
// reads them from cuDNN but has no getter).
class ConvGraph : public fe::graph::Graph {
 public:
  const std::vector<fe::NumericalNote_t>& numeric_notes(int64_t index) const { return plans.numeric_notes.at(index); }
  bool runtime_compiled(int64_t index) const {
    const auto& notes = plans.behavior_notes.at(index);
    return std::find(notes.begin(), notes.end(), fe::BehaviorNote_t::RUNTIME_COMPILATION) != notes.end();
  }
};

// Engines a precision must not use. FP32 means FP32: no TF32 tensor cores (~1e-3 relative
// error), no down-converted inputs, and nothing cuDNN marks nondeterministic (calibration on
// the GPU, engine/calibrate_cuda.h, must repeat bit for bit). FP16 stores in FP16 but
// accumulates in FP32: no engines that reduce partial sums in reduced precision.
std::vector<fe::NumericalNote_t> barred_notes(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return {fe::NumericalNote_t::TENSOR_CORE, fe::NumericalNote_t::DOWN_CONVERT_INPUTS,
              fe::NumericalNote_t::NONDETERMINISTIC};
    case Precision::kFp16: return {fe::NumericalNote_t::REDUCED_PRECISION_REDUCTION};
    case Precision::kTf32:
    case Precision::kInt8: return {};  // never asked: an INT8 engine plans its float convs at int8_float
  }
  return {};
}

// The indices of cuDNN's candidates (in its order) that q's precision and kernels allow, at
// most `limit`.
std::vector<int64_t> allowed_candidates(const ConvGraph& g, const ConvRequest& q, int64_t limit) {
  const std::vector<fe::NumericalNote_t> barred = barred_notes(q.precision);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < g.get_execution_plan_count() && static_cast<int64_t>(out.size()) < limit; ++i) {
    if (q.precompiled_only && g.runtime_compiled(i)) continue;
    const auto& notes = g.numeric_notes(i);
    const bool ok = std::none_of(barred.begin(), barred.end(),
                                 [&](fe::NumericalNote_t n) { return std::find(notes.begin(), notes.end(), n) != notes.end(); });
    if (ok) out.push_back(i);
  }
  return out;
}

fe::graph::Pointwise_attributes activation(ConvAct a) {
  auto act = fe::graph::Pointwise_attributes();
  if (a == ConvAct::kSiLU) act.set_mode(fe::PointwiseMode_t::SWISH_FWD).set_swish_beta(1.f);
  else act.set_mode(a == ConvAct::kRelu ? fe::PointwiseMode_t::RELU_FWD : fe::PointwiseMode_t::SIGMOID_FWD);
  return act;
}

// The cuDNN operation graph for a request, validated and built (no plans yet).
Result<std::shared_ptr<ConvGraph>> make_graph(const ConvRequest& q, cudnnHandle_t handle) {
  const ConvShape& s = q.s;
  const auto io = q.half() ? fe::DataType_t::HALF : fe::DataType_t::FLOAT;
  auto g = std::make_shared<ConvGraph>();
  g->set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
  const int64_t cg = s.c / s.groups;
  // NHWC strides; `pixel` is the channel count of the buffer when the tensor is a channel
  // view of a wider one.
  auto nhwc = [](int64_t c, int64_t h, int64_t w, int64_t pixel = 0) {
    const int64_t p = pixel ? pixel : c;
    return std::vector<int64_t>{h * w * p, 1, w * p, p};
  };
  auto X = g->tensor(fe::graph::Tensor_attributes().set_name("X").set_uid(kConvUidX).set_data_type(io)
                         .set_dim({s.n, s.c, s.h, s.w}).set_stride(nhwc(s.c, s.h, s.w, q.x_stride)));
  auto W = g->tensor(fe::graph::Tensor_attributes().set_name("W").set_uid(kConvUidW).set_data_type(io)
                         .set_dim({s.k, cg, s.r, s.s}).set_stride(nhwc(cg, s.r, s.s)));
  auto opts = fe::graph::Conv_fprop_attributes()
                  .set_pre_padding({s.ph, s.pw})
                  .set_post_padding({q.pad_bottom, q.pad_right})
                  .set_stride({s.sh, s.sw})
                  .set_dilation({s.dh, s.dw});
  auto Y = g->conv_fprop(X, W, opts);
  if (q.variant != ConvVariant::kConvOnly) {
    Y->set_data_type(fe::DataType_t::FLOAT);
    auto B = g->tensor(fe::graph::Tensor_attributes().set_name("B").set_uid(kConvUidB).set_data_type(io)
                           .set_dim({1, s.k, 1, 1}).set_stride({s.k, 1, s.k, s.k}));
    Y = g->pointwise(Y, B, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD));
    if (q.act != ConvAct::kNone) {
      Y->set_data_type(fe::DataType_t::FLOAT);
      Y = g->pointwise(Y, activation(q.act));
    }
    if (q.variant == ConvVariant::kResidual) {
      Y->set_data_type(fe::DataType_t::FLOAT);
      auto R = g->tensor(fe::graph::Tensor_attributes().set_name("R").set_uid(kConvUidR).set_data_type(io)
                             .set_dim({s.n, s.k, s.oh, s.ow}).set_stride(nhwc(s.k, s.oh, s.ow, q.r_stride)));
      Y = g->pointwise(Y, R, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD));
      if (q.post_act != ConvAct::kNone) {
        Y->set_data_type(fe::DataType_t::FLOAT);
        Y = g->pointwise(Y, activation(q.post_act));
      }
    }
  }
  Y->set_output(true).set_uid(kConvUidY).set_data_type(io).set_dim({s.n, s.k, s.oh, s.ow}).set_stride(nhwc(s.k, s.oh, s.ow, q.y_stride));
  KILN_RETURN_IF_ERROR(fe_status(g->validate(), "validate"));
  KILN_RETURN_IF_ERROR(fe_status(g->build_operation_graph(handle), "build_operation_graph"));
  return g;
}

// A graph with cuDNN's candidate list (heuristics A, then fallback), the engines the
// precision bars (and runtime-compiled ones, where the request takes precompiled only)
// deselected.
Result<std::shared_ptr<ConvGraph>> graph_with_candidates(const ConvRequest& q, cudnnHandle_t handle) {
  auto candidates = [&](const std::vector<fe::HeurMode_t>& modes) -> Result<std::shared_ptr<ConvGraph>> {
    KILN_ASSIGN_OR_RETURN(auto g, make_graph(q, handle));
    KILN_RETURN_IF_ERROR(fe_status(g->create_execution_plans(modes), "create_execution_plans"));
    g->deselect_numeric_notes(barred_notes(q.precision));
    if (q.precompiled_only) g->deselect_behavior_notes({fe::BehaviorNote_t::RUNTIME_COMPILATION});
    KILN_RETURN_IF_ERROR(fe_status(g->check_support(), "check_support"));
    return g;
  };
  // Precompiled engines only: heuristics A alone first, whose list has them for plain
  // convs; adding the fallback list costs a third more (H100: 105 against 150 ms for
  // yolo11n's 51 conv signatures).
  if (q.precompiled_only)
    if (auto g = candidates({fe::HeurMode_t::A}); g.ok()) return g;
  return candidates({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK});
}

std::string plan_name(const fe::graph::Graph& g, int64_t index) {
  std::string n;
  if (g.get_plan_name_at_index(index, n).is_bad()) n = "?";
  return n;
}

// `name`: the tactic's name when the graph cannot tell it (a deserialized plan).
Result<std::shared_ptr<ConvPlan>> finish_plan(std::shared_ptr<fe::graph::Graph> g, int64_t index, std::string suffix,
                                              std::string name = "") {
  auto p = std::make_shared<ConvPlan>();
  int64_t ws = 0;
  KILN_RETURN_IF_ERROR(fe_status(g->get_workspace_size_plan_at_index(index, ws), "get_workspace_size"));
  p->workspace = static_cast<size_t>(ws);
  p->tactic = (name.empty() ? plan_name(*g, index) : name) + suffix;
  p->graph = std::move(g);
  p->plan_index = index;
  return p;
}

// Builds the plan a timing-cache entry names; Unsupported if that engine no longer fits.
Result<std::shared_ptr<ConvPlan>> plan_from_choice(const ConvRequest& q, const TunedChoice& c, cudnnHandle_t handle) {
  KILN_ASSIGN_OR_RETURN(auto g, make_graph(q, handle));
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  for (auto [k, v] : c.knobs) knobs[static_cast<fe::KnobType_t>(k)] = v;
  KILN_RETURN_IF_ERROR(fe_status(g->create_execution_plan(c.engine_id, knobs), "create_execution_plan"));
  KILN_RETURN_IF_ERROR(fe_status(g->check_support(), "check_support"));
  KILN_RETURN_IF_ERROR(fe_status(g->build_plan_at_index(0), "build_plan_at_index"));
  return finish_plan(std::move(g), 0, " (cached)");
}

// The engine of a cache entry as cuDNN names it ("eng4"; its knobs are recorded by the
// frontend's numbering, not the one cuDNN's names use, so they are left out).
std::string choice_name(const TunedChoice& c) { return "eng" + std::to_string(c.engine_id); }

// The plan a timing-cache entry carries compiled (cuDNN's serialized execution plan, its
// runtime-compiled kernel included): no heuristics and no compile.

Result<std::shared_ptr<ConvPlan>> plan_from_blob(const TunedChoice& c, cudnnHandle_t handle) {
  const std::vector<uint8_t>& blob = c.plan;
  auto g = std::make_shared<fe::graph::Graph>();
  try {  // the frontend's UBJSON parser throws on damaged bytes
    // No warm-up capture: the engine's first run is eager, before its CUDA graph capture.
    KILN_RETURN_IF_ERROR(fe_status(g->deserialize(handle, blob, /*enforce_precompiled=*/false, /*run_warmup=*/false),
                                   "deserialize"));
  } catch (const std::exception& e) {
    return error(StatusCode::kUnsupported, "deserialize: ", e.what());
  }
  return finish_plan(std::move(g), 0, " (cached plan)", choice_name(c));
}

// Records `choice` with g's built plan serialized into it, so the next build loads the
// plan instead of compiling it (a plan cuDNN cannot serialize is recorded without).
void remember(TimingCache& cache, const std::string& key, TunedChoice choice, const fe::graph::Graph& g) {
  choice.plan.clear();
  try {
    if (g.serialize(choice.plan, /*serialize_structure=*/false).is_bad()) choice.plan.clear();
  } catch (const std::exception&) {
    choice.plan.clear();
  }
  cache.put(key, choice);
}

// The engine and knobs of the plan at `index` of g, as a timing-cache entry (no time, no
// serialized plan yet).
std::optional<TunedChoice> engine_choice(const fe::graph::Graph& g, int64_t index) {
  TunedChoice choice;
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  if (g.get_engine_and_knobs_at_index(index, choice.engine_id, knobs).is_bad()) return std::nullopt;
  for (auto [k, v] : knobs) choice.knobs.push_back({static_cast<int64_t>(k), v});
  std::sort(choice.knobs.begin(), choice.knobs.end());
  return choice;
}

// One built candidate, in a graph (and cuDNN handle) of its own: the frontend's plan list
// is not safe to build from several threads.
struct Candidate {
  std::shared_ptr<fe::graph::Graph> graph;
  int64_t index = 0;  // the plan's index in `graph`
  int64_t rank = 0;   // its place in cuDNN's order among the allowed candidates
  // A plan a worker process compiled: its engine, knobs and serialized plan, which the
  // restored graph cannot tell.
  std::optional<TunedChoice> compiled;
};

std::optional<Candidate> build_candidate(const ConvRequest& q, int64_t index, cudnnHandle_t handle) {
  auto g = graph_with_candidates(q, handle);
  if (!g.ok() || (*g)->get_execution_plan_count() <= index || (*g)->build_plan_at_index(index).is_bad())
    return std::nullopt;
  return Candidate{*g, index, index, std::nullopt};
}

// Runs work(handle, i) for every i < count on up to `threads` threads, each with a cuDNN
// handle of its own and the builder's device current.
Status on_cudnn_threads(PlanBuilder& b, size_t count, int threads,
                        const std::function<void(cudnnHandle_t, size_t)>& work) {
  const size_t n = std::min<size_t>(std::max(1, threads), count);
  if (n == 0) return Status::Ok();
  std::vector<cudnnHandle_t> handles(n, b.handles().cudnn);
  for (size_t i = 1; i < n; ++i) {
    KILN_ASSIGN_OR_RETURN(handles[i], b.worker_cudnn(i - 1));
  }
  int device = 0;
  KILN_CUDA_TRY(cudaGetDevice(&device), "cudaGetDevice");
  auto run = [&](size_t worker) {
    if (cudaSetDevice(device) != cudaSuccess) return;  // a fresh thread has no current device
    for (size_t i = worker; i < count; i += n) work(handles[worker], i);
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < n; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
  return Status::Ok();
}

// The plan among built candidates: with tuning, the fastest on scratch buffers (recorded
// in the timing cache with its serialized plan, one candidate too, so a warm build neither
// times nor compiles); without, the first in cuDNN's order.
Result<std::shared_ptr<ConvPlan>> choose_plan(const ConvRequest& q, std::vector<Candidate> cands, PlanBuilder& b) {
  if (const size_t cap = b.options().max_workspace_bytes) {
    const size_t before = cands.size();
    std::erase_if(cands, [&](const Candidate& c) {
      int64_t ws = 0;
      return c.graph->get_workspace_size_plan_at_index(c.index, ws).is_bad() || static_cast<size_t>(ws) > cap;
    });
    b.stats().over_workspace += static_cast<int>(before - cands.size());
    if (cands.empty())
      return error(StatusCode::kUnsupported, "every built candidate needs more than the ", cap, "-byte workspace cap");
  }
  std::sort(cands.begin(), cands.end(), [](const Candidate& x, const Candidate& y) { return x.rank < y.rank; });
  Candidate pick = cands.front();
  if (b.options().tune) {
    const auto t0 = std::chrono::steady_clock::now();
    const size_t es = q.half() ? 2 : 4;
    const ConvShape& s = q.s;
    int64_t ws_max = 0;
    for (const Candidate& c : cands) {
      int64_t ws = 0;
      if (c.graph->get_workspace_size_plan_at_index(c.index, ws).is_good()) ws_max = std::max(ws_max, ws);
    }
    TuneScratch scratch;
    // Channel views span their whole buffer's pixels.
    const size_t out_bytes = s.n * s.oh * s.ow * (q.y_stride ? q.y_stride : s.k) * es;
    std::unordered_map<int64_t, void*> pack;
    KILN_ASSIGN_OR_RETURN(pack[kConvUidX], scratch.alloc(s.n * s.h * s.w * (q.x_stride ? q.x_stride : s.c) * es));
    KILN_ASSIGN_OR_RETURN(pack[kConvUidW], scratch.alloc(s.k * (s.c / s.groups) * s.r * s.s * es));
    KILN_ASSIGN_OR_RETURN(pack[kConvUidY], scratch.alloc(out_bytes));
    if (q.variant != ConvVariant::kConvOnly) {
      KILN_ASSIGN_OR_RETURN(pack[kConvUidB], scratch.alloc(s.k * es));
    }
    if (q.variant == ConvVariant::kResidual) {
      KILN_ASSIGN_OR_RETURN(pack[kConvUidR], scratch.alloc(s.n * s.oh * s.ow * (q.r_stride ? q.r_stride : s.k) * es));
    }
    KILN_ASSIGN_OR_RETURN(void* ws, scratch.alloc(static_cast<size_t>(ws_max)));
    cudaStream_t stream = nullptr;
    KILN_RETURN_IF_ERROR(cudnn_status(cudnnGetStream(b.handles().cudnn, &stream), "cudnnGetStream"));
    double best = 1e30;
    size_t rank = 0;
    for (size_t i = 0; i < cands.size(); ++i) {
      const Candidate& c = cands[i];
      auto ms = min_time_ms(stream, [&] {
        return fe_status(c.graph->execute_plan_at_index(b.handles().cudnn, pack, ws, c.index), "execute");
      });
      if (ms.ok() && *ms < best) {
        best = *ms;
        pick = cands[i];
        rank = i;
      }
    }
    b.stats().tune_s += seconds_since(t0);
    if (best >= 1e30) return error(StatusCode::kUnsupported, "no candidate engine ran");
    ++b.stats().tuned;
    auto& wins = b.stats().wins_by_rank;
    if (wins.size() <= rank) wins.resize(rank + 1);
    ++wins[rank];
    if (TimingCache* cache = b.timing_cache(); cache && pick.compiled) {
      TunedChoice choice = *pick.compiled;
      choice.ms = best;
      cache->put(b.device_key() + "|" + q.signature(), choice);
    } else if (cache) {
      if (std::optional<TunedChoice> choice = engine_choice(*pick.graph, pick.index)) {
        choice->ms = best;
        remember(*cache, b.device_key() + "|" + q.signature(), *choice, *pick.graph);
      }
    }
  }
  return finish_plan(pick.graph, pick.index, "", pick.compiled ? choice_name(*pick.compiled) : "");
}

// The plan of a timing-cache entry: loaded when the entry carries it, else rebuilt from the
// engine and knobs it names (and the entry completed with the compiled plan).
Result<std::shared_ptr<ConvPlan>> plan_from_cache(const ConvRequest& q, TimingCache& cache, const std::string& key,
                                                  const TunedChoice& c, PlanBuilder& b) {
  if (auto it = b.restored_plans().find(key); it != b.restored_plans().end()) {
    ++b.stats().plans_loaded;
    return std::static_pointer_cast<ConvPlan>(it->second);
  }
  if (!c.plan.empty()) {
    auto p = plan_from_blob(c, b.handles().cudnn);
    if (p.ok()) {
      ++b.stats().plans_loaded;
      return p;
    }
    // An engine file's plan that this GPU, driver or cuDNN cannot restore: the engine must
    // be rebuilt here, not silently re-planned.
    if (cache.replay_only())
      return error(StatusCode::kIncompatible, "cuDNN cannot restore the recorded plan for ", q.signature(), ": ",
                   p.status().message());
  }
  if (cache.replay_only())
    return error(StatusCode::kIncompatible, "the engine records no compiled plan for ", q.signature());
  KILN_ASSIGN_OR_RETURN(auto p, plan_from_choice(q, c, b.handles().cudnn));
  remember(cache, key, c, *p->graph);
  return p;
}

// The plan for q from its timing-cache entry, else from its first allowed candidates
// compiled at once (one thread and cuDNN handle each) and chosen by choose_plan; null when
// nothing built, an error when cuDNN has no candidate list for q.
Result<std::shared_ptr<ConvPlan>> compile_first(const ConvRequest& q, PlanBuilder& b) {
  const auto t0 = std::chrono::steady_clock::now();
  TimingCache* cache = b.options().tune ? b.timing_cache() : nullptr;
  if (cache) {
    const std::string key = b.device_key() + "|" + q.signature();
    if (auto c = cache->find(key)) {
      auto p = plan_from_cache(q, *cache, key, *c, b);
      b.stats().compile_s += seconds_since(t0);
      if (p.ok()) {
        ++b.stats().cache_hits;
        return p;
      }
      if (cache->replay_only()) return p.status();
    }
    // What the recorded build did not plan with cuDNN (a variant cuDNN refused) is refused
    // again, so the conv falls to the same variant or kernel as it did then.
    if (cache->replay_only()) return std::shared_ptr<ConvPlan>();
  }
  // Candidates a worker process compiled (plan_compile_workers.h) are only timed here.
  if (auto it = b.precompiled_plans().find(q.signature()); it != b.precompiled_plans().end()) {
    std::vector<Candidate> cands = std::move(*std::static_pointer_cast<std::vector<Candidate>>(it->second));
    b.precompiled_plans().erase(it);
    return choose_plan(q, std::move(cands), b);
  }
  // The candidate list first, so that threads start only for candidates that exist: cuDNN
  // serializes much of its heuristics and plan building, so a needless thread costs wall
  // time.
  KILN_ASSIGN_OR_RETURN(auto g, graph_with_candidates(q, b.handles().cudnn));
  const std::vector<int64_t> indices =
      allowed_candidates(*g, q, b.options().tune ? std::max(1, b.options().tune_candidates) : 1);
  const size_t n = indices.size();
  if (n == 0) return std::shared_ptr<ConvPlan>();
  std::vector<cudnnHandle_t> handles(n, b.handles().cudnn);
  for (size_t i = 1; i < n; ++i) {
    KILN_ASSIGN_OR_RETURN(handles[i], b.worker_cudnn(static_cast<int>(i) - 1));
  }
  int device = 0;
  KILN_CUDA_TRY(cudaGetDevice(&device), "cudaGetDevice");
  std::vector<std::optional<Candidate>> built(n);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i)
    threads.emplace_back([&, i] {
      // A fresh thread has no current CUDA context; some engines use the driver API.
      if (cudaSetDevice(device) == cudaSuccess) built[i] = build_candidate(q, indices[i], handles[i]);
    });
  if (g->build_plan_at_index(indices[0]).is_good()) built[0] = Candidate{g, indices[0], indices[0], std::nullopt};
  for (auto& t : threads) t.join();
  b.stats().compile_s += seconds_since(t0);
  std::vector<Candidate> cands;
  for (auto& c : built)
    if (c) cands.push_back(*c);
  if (cands.empty()) return std::shared_ptr<ConvPlan>();
  return choose_plan(q, std::move(cands), b);
}

}  // namespace

namespace {

std::string conv_signature_prefix(int64_t batch) { return "conv n" + std::to_string(batch) + " "; }

const char* act_suffix(ConvAct a) {
  return a == ConvAct::kSiLU ? " silu" : a == ConvAct::kRelu ? " relu" : a == ConvAct::kSigmoid ? " sigmoid" : "";
}

}  // namespace

std::optional<std::string> batch_plans_prefix(const PlanBuilder& b) {
  const ir::Value* input = b.graph().inputs.empty() ? nullptr : b.graph().inputs.front();
  if (!input || !input->shape || !ir::is_static(*input->shape) || input->shape->empty()) return std::nullopt;
  return b.device_key() + "|" + conv_signature_prefix(ir::static_dims(*input->shape).front());
}

std::string ConvRequest::signature() const {
  std::ostringstream os;
  os << conv_signature_prefix(s.n) << "c" << s.c << " h" << s.h << " w" << s.w << " k" << s.k << " r" << s.r << "x" << s.s
     << " st" << s.sh << "," << s.sw << " pad" << s.ph << "," << s.pw << "," << pad_bottom << "," << pad_right
     << " dil" << s.dh << "," << s.dw << " g" << s.groups << " " << to_string(precision)
     // FP16 entries recorded before reduced-precision reductions were barred are not reused.
     << (precision == Precision::kFp16 ? "/acc32 " : " ")
     << (variant == ConvVariant::kResidual ? "bias+silu?+add" : variant == ConvVariant::kFused ? "bias+silu?" : "conv")
     << act_suffix(act);
  // Requests without one keep the keys recorded before post-add activations existed.
  if (post_act != ConvAct::kNone) os << " then" << act_suffix(post_act);
  // Packed requests keep the keys recorded before channel views existed.
  if (x_stride || y_stride || r_stride) os << " px" << x_stride << "," << y_stride << "," << r_stride;
  if (precompiled_only) os << " precompiled";
  return os.str();
}

namespace {

// A timing-cache entry by reference: its key and choice.
using CacheEntry = std::pair<const std::string*, const TunedChoice*>;

// The serialized plans of `entries` restored on up to `threads` threads (one cuDNN handle
// each) into b.restored_plans(), where the planner takes them; a plan that does not restore
// is left for the planner (to compile, or to report where it replays an engine file).
Status restore_ahead(PlanBuilder& b, const std::vector<CacheEntry>& entries, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<ConvPlan>> restored(entries.size());
  KILN_RETURN_IF_ERROR(on_cudnn_threads(b, entries.size(), threads, [&](cudnnHandle_t h, size_t i) {
    if (auto p = plan_from_blob(*entries[i].second, h); p.ok()) restored[i] = *p;
  }));
  for (size_t i = 0; i < entries.size(); ++i)
    if (restored[i]) {
      b.restored_plans()[*entries[i].first] = restored[i];
      ++b.stats().plans_restored_ahead;
    }
  b.stats().compile_s += seconds_since(t0);
  return Status::Ok();
}

}  // namespace

Result<bool> prefer_own_kernel(const ConvRequest& q, PlanBuilder& b, const std::function<Status(cudaStream_t)>& run_own) {
  TimingCache* cache = b.options().tune ? b.timing_cache() : nullptr;
  if (!cache) return true;
  const std::string key = b.device_key() + "|own " + q.signature();
  if (auto c = cache->find(key)) return c->engine_id == 1;
  if (cache->replay_only()) return false;
  auto plan = get_conv_plan(q, b);
  if (b.conv_request_sink()) return false;
  cudaStream_t stream = nullptr;
  KILN_RETURN_IF_ERROR(cudnn_status(cudnnGetStream(b.handles().cudnn, &stream), "cudnnGetStream"));
  const auto t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(const double own_ms, min_time_ms(stream, [&] { return run_own(stream); }));
  b.stats().tune_s += seconds_since(t0);
  const std::optional<TunedChoice> tuned = plan.ok() ? cache->find(b.device_key() + "|" + q.signature()) : std::nullopt;
  const bool own = !tuned || own_ms < tuned->ms;
  cache->put(key, TunedChoice{own ? 1 : 0, {}, own_ms, {}});
  return own;
}

bool batch_planned_before(const PlanBuilder& b) {
  const TimingCache* cache = b.timing_cache();
  const std::optional<std::string> prefix = batch_plans_prefix(b);
  if (!cache || !prefix) return false;
  const auto it = cache->entries().lower_bound(*prefix);
  return it != cache->entries().end() && it->first.compare(0, prefix->size(), *prefix) == 0;
}

std::vector<ConvRequest> dry_pass_conv_requests(const ir::Graph& graph, PlanBuilder& b) {
  std::vector<ConvRequest> requests;
  PlanBuilder dry(graph, b.options(), b.handles(), b.weights());
  dry.set_timing_cache(b.timing_cache(), b.device_key());
  dry.collect_conv_requests(&requests);
  (void)dry.build();  // what fails here fails again, and is reported, in the real pass
  return requests;
}

Status restore_cached_conv_plans(const ir::Graph& graph, PlanBuilder& b, int threads) {
  const TimingCache* cache = b.options().tune ? b.timing_cache() : nullptr;
  if (!cache) return Status::Ok();
  // Looked up, not found (find copies the plan and marks it used): the real pass finds what
  // it takes.
  std::vector<CacheEntry> cached;
  for (const ConvRequest& q : dry_pass_conv_requests(graph, b))
    if (auto it = cache->entries().find(b.device_key() + "|" + q.signature());
        it != cache->entries().end() && !it->second.plan.empty())
      cached.push_back({&it->first, &it->second});
  return restore_ahead(b, cached, threads);
}

Status restore_recorded_conv_plans(PlanBuilder& b, int threads) {
  TimingCache* cache = b.timing_cache();
  if (!cache || !cache->replay_only()) return Status::Ok();
  // Only this engine's batch: a profile's file records every prepared batch's plans, and
  // each batch's build restores its own (a conv of another batch size, if any, restores
  // its plan when it is planned).
  const std::string prefix = batch_plans_prefix(b).value_or(b.device_key() + "|conv ");
  std::vector<CacheEntry> recorded;
  for (const auto& [key, choice] : cache->entries())
    if (key.compare(0, prefix.size(), prefix) == 0 && !choice.plan.empty()) recorded.push_back({&key, &choice});
  return restore_ahead(b, recorded, threads);
}

Result<std::shared_ptr<ConvPlan>> get_conv_plan(const ConvRequest& q, PlanBuilder& b) {
  if (b.options().cancel && b.options().cancel->load()) return error(StatusCode::kCancelled, "build cancelled");
  const std::string sig = q.signature();
  auto& shared = b.shared_plans();
  if (std::vector<ConvRequest>* sink = b.conv_request_sink()) {
    // A dry pass (plan_compile_workers.h): what compile_first would compile is noted, once
    // per signature, and the planner goes on as if the first variant had built. The answer
    // is never run: the dry pass's steps are dropped, and the real pass asks again.
    if (!shared.count(sig)) sink->push_back(q);
    auto noted = std::make_shared<ConvPlan>();
    noted->tactic = "(dry pass: noted for a worker)";
    shared[sig] = noted;
    return noted;
  }
  auto found = [&]() -> Result<std::shared_ptr<ConvPlan>> {
    if (!shared.at(sig)) return error(StatusCode::kUnsupported, "refused earlier");
    return std::static_pointer_cast<ConvPlan>(shared.at(sig));
  };
  if (shared.count(sig)) return found();
  auto first = compile_first(q, b);
  if (first.ok() && *first) {
    shared[sig] = *first;
    ++b.stats().conv_signatures;
    return first;
  }
  if (b.timing_cache() && b.timing_cache()->replay_only()) {
    shared[sig] = nullptr;
    return first.ok() ? error(StatusCode::kUnsupported, "not planned with cuDNN when the engine was built") : first;
  }

  // None of the first candidates built: walk through cuDNN's whole list until one does
  // (the first ones again, serially, for cuDNN's message if none builds).
  auto t0 = std::chrono::steady_clock::now();
  auto g = graph_with_candidates(q, b.handles().cudnn);
  b.stats().heuristics_s += seconds_since(t0);
  Result<std::shared_ptr<ConvPlan>> p = g.ok() ? error(StatusCode::kUnsupported, "build_plans: no candidate engine")
                                               : Result<std::shared_ptr<ConvPlan>>(g.status());
  if (g.ok()) {
    t0 = std::chrono::steady_clock::now();
    int64_t built = -1;
    for (int64_t i : allowed_candidates(**g, q, (*g)->get_execution_plan_count())) {
      if (built >= 0) break;
      auto e = (*g)->build_plan_at_index(i);
      if (e.is_good()) built = i;
      else p = error(StatusCode::kUnsupported, "build_plans: ", e.get_message());
    }
    b.stats().compile_s += seconds_since(t0);
    if (built >= 0) p = choose_plan(q, {Candidate{*g, built, built, std::nullopt}}, b);
  }
  shared[sig] = p.ok() ? std::static_pointer_cast<void>(*p) : nullptr;
  if (p.ok()) ++b.stats().conv_signatures;
  return p;
}

std::string encode_conv_request(const ConvRequest& q) {
  const ConvShape& s = q.s;
  std::ostringstream os;
  for (int64_t v : {s.n, s.h, s.w, s.c, s.k, s.oh, s.ow, s.r, s.s, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.groups,
                    q.pad_bottom, q.pad_right, static_cast<int64_t>(q.precision), static_cast<int64_t>(q.variant),
                    static_cast<int64_t>(q.act), q.x_stride, q.y_stride, q.r_stride, static_cast<int64_t>(q.post_act),
                    static_cast<int64_t>(q.precompiled_only)})
    os << v << ' ';
  return os.str();
}

Result<ConvRequest> decode_conv_request(std::string_view line) {
  std::istringstream is{std::string(line)};
  std::array<int64_t, 26> v{};
  for (int64_t& x : v)
    if (!(is >> x)) return error(StatusCode::kInvalidArgument, "conv request '", line, "': expected 26 integers");
  std::string rest;
  if (is >> rest) return error(StatusCode::kInvalidArgument, "conv request '", line, "': more than 26 integers");
  const auto act_ok = [](int64_t a) { return a >= 0 && a <= static_cast<int64_t>(ConvAct::kSigmoid); };
  if (v[18] < 0 || v[18] > static_cast<int64_t>(Precision::kInt8) || v[19] < 0 ||
      v[19] > static_cast<int64_t>(ConvVariant::kConvOnly) || !act_ok(v[20]) || !act_ok(v[24]) || v[25] < 0 || v[25] > 1)
    return error(StatusCode::kInvalidArgument, "conv request '", line,
                 "': precision, variant, activation or kernel set out of range");
  ConvRequest q;
  q.s = ConvShape{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]};
  q.pad_bottom = v[16];
  q.pad_right = v[17];
  q.precision = static_cast<Precision>(v[18]);
  q.variant = static_cast<ConvVariant>(v[19]);
  q.act = static_cast<ConvAct>(v[20]);
  q.x_stride = v[21];
  q.y_stride = v[22];
  q.r_stride = v[23];
  q.post_act = static_cast<ConvAct>(v[24]);
  q.precompiled_only = v[25] != 0;
  return q;
}

std::string compiled_candidate_key(const std::string& signature, size_t rank) {
  return signature + " #" + std::to_string(rank);
}

void compile_conv_candidates(const std::vector<ConvRequest>& requests, int candidates, cudnnHandle_t handle,
                             TimingCache& out) {
  for (const ConvRequest& q : requests) {
    auto g = graph_with_candidates(q, handle);
    if (!g.ok()) continue;  // the planner's own compile tells why
    const std::vector<int64_t> indices = allowed_candidates(**g, q, std::max(1, candidates));
    for (size_t rank = 0; rank < indices.size(); ++rank) {
      // A graph per candidate: a graph serializes the plan built in it.
      std::optional<Candidate> c = build_candidate(q, indices[rank], handle);
      if (!c) continue;
      if (std::optional<TunedChoice> choice = engine_choice(*c->graph, c->index))
        remember(out, compiled_candidate_key(q.signature(), rank), *choice, *c->graph);
    }
  }
}

Status adopt_compiled_candidates(PlanBuilder& b, const TimingEntries& compiled, int threads) {
  std::vector<std::pair<const std::string*, const TunedChoice*>> items;
  for (const auto& [key, choice] : compiled)
    if (!choice.plan.empty() && key.rfind(" #") != std::string::npos) items.push_back({&key, &choice});
  std::vector<std::shared_ptr<fe::graph::Graph>> graphs(items.size());
  KILN_RETURN_IF_ERROR(on_cudnn_threads(b, items.size(), threads, [&](cudnnHandle_t h, size_t i) {
    if (auto p = plan_from_blob(*items[i].second, h); p.ok()) graphs[i] = (*p)->graph;
  }));
  for (size_t i = 0; i < items.size(); ++i) {
    if (!graphs[i]) continue;  // not restored: the planner compiles that candidate itself
    const std::string& key = *items[i].first;
    const size_t at = key.rfind(" #");
    auto& entry = b.precompiled_plans()[key.substr(0, at)];
    if (!entry) entry = std::make_shared<std::vector<Candidate>>();
    const int64_t rank = std::strtoll(key.c_str() + at + 2, nullptr, 10);
    std::static_pointer_cast<std::vector<Candidate>>(entry)->push_back(Candidate{graphs[i], 0, rank, *items[i].second});
  }
  return Status::Ok();
}

}  // namespace kiln::cuda
