// The CPU backend's kernel interface: one function per op, one op per file in ops/,
// all listed in registry.cpp. Kernels are the reference: plain and correct.
#pragma once

#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::cpu {

struct KernelContext {
  const ir::Node& node;
  std::vector<const ir::Tensor*> inputs;  // nullptr for omitted optional inputs
  std::vector<ir::Tensor> outputs;        // the kernel sets one per node output
};

using Kernel = Status (*)(KernelContext&);

// The kernel for `op_type`, or nullptr.
Kernel find_kernel(std::string_view op_type);

}  // namespace kiln::cpu
