#include "engine/cpu_query.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "core/cpu_count.h"

namespace kiln::engine {

namespace {

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") + 1 - b);
}

}  // namespace

const std::vector<std::string>& tracked_instruction_sets() {
  static const std::vector<std::string> sets = {
      "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
      "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",              // x86
      "asimd", "asimdhp", "asimddp", "fphp", "i8mm", "bf16", "sve", "sve2"};  // Arm
  return sets;
}

CpuInfo parse_cpuinfo(std::string_view text) {
  CpuInfo cpu;
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string package;
  std::set<std::string> flags;
  bool have_flags = false;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string value(trim(line.substr(colon + 1)));
    if (key == "processor") {
      ++cpu.logical_cpus;
    } else if (key == "model name" && cpu.model.empty()) {
      cpu.model = value;
    } else if (key == "physical id") {
      package = value;
    } else if (key == "core id") {
      cores.emplace(package, value);
    } else if ((key == "flags" || key == "Features") && !have_flags) {
      have_flags = true;
      std::istringstream words(value);
      for (std::string w; words >> w;) flags.insert(w);
    }
  }
  cpu.physical_cores = cores.empty() ? cpu.logical_cpus : static_cast<int>(cores.size());
  for (const std::string& s : tracked_instruction_sets())
    if (flags.count(s)) cpu.instruction_sets.push_back(s);
  return cpu;
}

CpuInfo query_cpu() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  CpuInfo cpu = parse_cpuinfo(text.str());
  if (cpu.logical_cpus == 0) {
    cpu.logical_cpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    cpu.physical_cores = cpu.logical_cpus;
  }
  utsname u{};
  if (uname(&u) == 0) cpu.arch = u.machine;
  cpu.usable_cpus = static_cast<int>(core::usable_cores());
  return cpu;
}

}  // namespace kiln::engine
