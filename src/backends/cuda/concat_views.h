// Concat and Split without copies: a Concat on the channel axis of NHWC activations gets
// its output buffer before its operands are computed, and the convs producing them (Conv,
// or QConvInt8 with a float output) write straight into their channel ranges (Slot::pixel_stride views); a Split's outputs become
// channel views of its input. Decided here, before the producers are planned, from the
// graph alone; the planners honour a placement only when they can (a conv taking the cuDNN
// fused path), and whatever is not in place is copied by the Concat as before.
#pragma once

#include <cstddef>
#include <map>
#include <set>

#include "backends/cuda/plan.h"
#include "ir/graph.h"

namespace kiln::cuda {

// True when every consumer of `v` reads it through strides, so a channel view of `v` costs
// no packing copy: Concat and Split (strided copies or views), Conv (its input; cuDNN takes
// explicit strides), and an Add that a conv will fold in as its residual operand.
bool consumers_read_channel_views(const ir::Graph& g, const ir::Value* v, const BuildOptions& options);

// The Concat buffer and channel offset of each value whose producer should write in place.
// `elem_bytes` is the activation element size: offsets and pixel strides must be multiples
// of 16 bytes (what cuDNN's tensor-core engines expect of a tensor's address and stride).
// Concats in `fp32_nodes` (the FP32 tail of an FP16 engine) get nothing placed: their
// buffers differ in dtype from the convs that would write into them.
std::map<const ir::Value*, ChannelPlacement> place_concat_operands(const ir::Graph& g, const BuildOptions& options,
                                                                   size_t elem_bytes,
                                                                   const std::set<const ir::Node*>& fp32_nodes);

}  // namespace kiln::cuda
