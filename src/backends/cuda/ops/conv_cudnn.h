// cuDNN plans for NHWC convolutions (cuDNN 9 graph API through the cuDNN frontend): the
// operation graph of a conv request, its engine choice (timing cache, else the fastest of
// cuDNN's first candidates timed on the GPU, else cuDNN's heuristic first choice), and plans
// shared between convs of one signature. Used by the Conv planner (conv.cpp).
#pragma once

#include <cudnn_frontend.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/cuda/kernels.h"
#include "backends/cuda/plan.h"

namespace kiln::cuda {

// Tensor uids in a conv graph's variant pack.
inline constexpr int64_t kConvUidX = 1, kConvUidW = 2, kConvUidB = 3, kConvUidY = 4, kConvUidR = 5;

// What the cuDNN graph computes after the conv: bias (+activation) + residual Add
// (+activation), bias (+activation), or nothing (our bias/activation kernel follows).
enum class ConvVariant { kResidual, kFused, kConvOnly };

struct ConvRequest {
  ConvShape s;
  int64_t pad_bottom = 0, pad_right = 0;
  Precision precision{};
  ConvVariant variant{};
  ConvAct act = ConvAct::kNone;
  // The activation after the residual Add (kResidual only): OSNet's ReLU ending each block.
  ConvAct post_act = ConvAct::kNone;
  // Pixel strides (elements) of X, Y and R when they are channel views of wider NHWC
  // buffers (Slot::pixel_stride); 0 when packed.
  int64_t x_stride = 0, y_stride = 0, r_stride = 0;
  // Only cuDNN's precompiled engines (BuildOptions::runtime_compiled_kernels off).
  bool precompiled_only = false;

  bool half() const { return precision == Precision::kFp16; }
  // Everything that decides the plan; the key of shared plans and of the timing cache.
  std::string signature() const;
};

// How the timing-cache key of every conv plan of b's batch starts ("<device>|conv n<N> "):
// an engine restores the recorded plans of its own batch by it, and a build finds whether
// its batch was planned before. None when the graph's batch is not static.
std::optional<std::string> batch_plans_prefix(const PlanBuilder& b);

// Every conv request the planner makes for `graph` first (one per signature), from a dry
// planning pass against b's timing cache and weight store (the real pass finds its weights
// uploaded: the store shares identical bytes).
std::vector<ConvRequest> dry_pass_conv_requests(const ir::Graph& graph, PlanBuilder& b);

// One built cuDNN plan, shared by every conv step with the same signature.
struct ConvPlan {
  std::shared_ptr<cudnn_frontend::graph::Graph> graph;
  int64_t plan_index = 0;
  size_t workspace = 0;
  std::string tactic;
};

// The shared plan for a request, built on first use (error: cuDNN has no engine for it).
// In a dry planning pass (PlanBuilder::collect_conv_requests) the request is only noted.
Result<std::shared_ptr<ConvPlan>> get_conv_plan(const ConvRequest& q, PlanBuilder& b);

// Whether our kernel for q's conv is faster than q's cuDNN plan: the choice recorded in the
// timing cache (under "own " + q's signature), else measured now, run_own (our kernel on
// scratch operands, enqueued on the stream given) against the tuned time of q's plan (found
// or built as get_conv_plan does), and recorded. Ours without tuning or a timing cache, or
// where cuDNN has no plan; cuDNN's where a recorded cache (an engine file) has no choice, as
// that engine ran. A dry pass notes q and answers cuDNN, timing nothing.
Result<bool> prefer_own_kernel(const ConvRequest& q, PlanBuilder& b, const std::function<Status(cudaStream_t)>& run_own);

// A request as one line of integers and back, for plan-compile worker processes
// (plan_compile_workers.h).
std::string encode_conv_request(const ConvRequest& q);
Result<ConvRequest> decode_conv_request(std::string_view line);

// A worker's job: the first `candidates` allowed candidates of each request compiled, each
// in a graph of its own, their serialized plans put in `out` under
// compiled_candidate_key(signature, rank) (rank: the place among the allowed candidates in
// cuDNN's order). What does not compile is left out.
void compile_conv_candidates(const std::vector<ConvRequest>& requests, int candidates, cudnnHandle_t handle,
                             TimingCache& out);
std::string compiled_candidate_key(const std::string& signature, size_t rank);
// The planner's side: workers' compiled candidates restored (on up to `threads` threads,
// one cuDNN handle each) into b.precompiled_plans(), where get_conv_plan times them.
Status adopt_compiled_candidates(PlanBuilder& b, const TimingEntries& compiled, int threads);

}  // namespace kiln::cuda
