#include "backends/cuda/device_support.h"

#include <cuda_runtime.h>

#include <charconv>

#ifndef KILN_CUDA_ARCHITECTURES
#error "KILN_CUDA_ARCHITECTURES (the CUDA architecture list) is set by cmake/KilnCudaArchs.cmake"
#endif

namespace kiln::cuda {

namespace {

Result<CudaArch> parse_entry(std::string_view entry) {
  CudaArch a;
  const std::string_view whole = entry;
  if (entry.ends_with("-real")) {
    a.sass = true;
    entry.remove_suffix(5);
  } else if (entry.ends_with("-virtual")) {
    a.ptx = true;
    entry.remove_suffix(8);
  } else {
    a.sass = a.ptx = true;
  }
  if (!entry.empty() && (entry.back() == 'a' || entry.back() == 'f')) {
    a.variant = entry.back();
    entry.remove_suffix(1);
  }
  auto [end, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), a.cc);
  if (entry.empty() || ec != std::errc() || end != entry.data() + entry.size() || a.cc < 10)
    return error(StatusCode::kInvalidArgument, "CUDA architecture '", whole,
                 "': expected NN, NN-real or NN-virtual (NN a compute capability such as 86 or 90a)");
  return a;
}

// SASS for X.Y runs on X.y with y >= Y (arch-specific 'a' code on X.Y only); PTX for X.Y is
// compiled by the driver for any X.Y or newer GPU ('a' for X.Y only, 'f' within major X).
bool serves(const CudaArch& a, int cc) {
  if (a.variant == 'a') return a.cc == cc;
  const bool same_major_newer = cc / 10 == a.cc / 10 && cc % 10 >= a.cc % 10;
  if (a.sass && same_major_newer) return true;
  return a.ptx && (a.variant == 'f' ? same_major_newer : cc >= a.cc);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Result<std::vector<CudaArch>> parse_cuda_archs(std::string_view list) {
  std::vector<CudaArch> out;
  while (!list.empty()) {
    const size_t sep = list.find_first_of(",;");
    const std::string_view entry = list.substr(0, sep);
    if (!entry.empty()) {
      KILN_ASSIGN_OR_RETURN(CudaArch a, parse_entry(entry));
      out.push_back(a);
    }
    list = sep == std::string_view::npos ? std::string_view() : list.substr(sep + 1);
  }
  if (out.empty()) return error(StatusCode::kInvalidArgument, "CUDA architecture list is empty");
  return out;
}

const std::vector<CudaArch>& carried_cuda_archs() {
  // The list comes from CMake, which checks each entry with the same grammar.
  static const std::vector<CudaArch> archs = [] {
    auto parsed = parse_cuda_archs(KILN_CUDA_ARCHITECTURES);
    return parsed.ok() ? *parsed : std::vector<CudaArch>{};
  }();
  return archs;
}

std::vector<std::string> cuda_arch_names(const std::vector<CudaArch>& archs) {
  std::vector<std::string> names;
  for (const CudaArch& a : archs) {
    const std::string suffix = std::to_string(a.cc) + (a.variant ? std::string(1, a.variant) : "");
    if (a.sass) names.push_back("sm_" + suffix);
    if (a.ptx) names.push_back("compute_" + suffix);
  }
  return names;
}

Status check_device_support(int major, int minor, const std::vector<CudaArch>& carried) {
  const int cc = major * 10 + minor;
  for (const CudaArch& a : carried)
    if (serves(a, cc)) return Status::Ok();
  return error(StatusCode::kUnsupported, "compute capability ", major, ".", minor,
               " is not served by this kiln's CUDA kernels (", join(cuda_arch_names(carried)),
               "): build kiln with -DKILN_CUDA_ARCHS=all, or =native on this machine");
}

Status check_current_device() {
  int dev = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess)
    return error(StatusCode::kNotFound, "no current CUDA device");
  Status st = check_device_support(prop.major, prop.minor, carried_cuda_archs());
  if (st.ok()) return st;
  return error(st.code(), "cuda:", dev, " (", prop.name, "): ", st.message());
}

}  // namespace kiln::cuda
