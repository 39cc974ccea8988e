// What the CPU is, from /proc/cpuinfo (Linux): the kernel lists there the instruction-set
// extensions it has enabled, which is what code may use (cpuid alone also reports ones
// the OS has not enabled, such as AVX-512 state it does not save).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/environment.h"

namespace kiln::engine {

// The SIMD extensions the CPU backend's speed depends on (OpenBLAS picks its kernels by
// them), in /proc/cpuinfo's names: x86 first, then Arm.
const std::vector<std::string>& tracked_instruction_sets();

// Model, cores, logical CPUs and tracked_instruction_sets() present, from /proc/cpuinfo
// text (x86 "model name" / "flags", Arm "Features"); arch and usable_cpus stay unset.
CpuInfo parse_cpuinfo(std::string_view text);

// parse_cpuinfo of this machine, plus its arch (uname) and the CPUs this process may use
// (core::usable_cores).
CpuInfo query_cpu();

}  // namespace kiln::engine
