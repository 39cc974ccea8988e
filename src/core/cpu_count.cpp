#include "core/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kiln::core {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The folder of this process's cgroup under `mount`, then each parent up to the mount:
// a limit on any of them applies.
std::vector<fs::path> cgroup_dirs(const fs::path& mount, const std::string& path) {
  std::vector<fs::path> dirs;
  for (fs::path p = fs::path(path).relative_path();; p = p.parent_path()) {
    dirs.push_back(mount / p);
    if (p.empty()) break;
  }
  return dirs;
}

// The smallest quota set on this process's cgroups, v2 or v1; none when there is none.
std::optional<double> cgroup_quota() {
  const std::optional<std::string> self = read_text("/proc/self/cgroup");
  if (!self) return std::nullopt;
  std::optional<double> smallest;
  auto take = [&](std::optional<double> q) {
    if (q && (!smallest || *q < *smallest)) smallest = q;
  };
  std::istringstream lines(*self);
  for (std::string line; std::getline(lines, line);) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) {  // v2: "0::/path"
      for (const fs::path& dir : cgroup_dirs("/sys/fs/cgroup", path))
        if (auto text = read_text(dir / "cpu.max")) take(cpu_max_quota(*text));
      continue;
    }
    std::istringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) {
      if (name != "cpu") continue;
      for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"})
        for (const fs::path& dir : cgroup_dirs(mount, path)) {
          auto quota = read_text(dir / "cpu.cfs_quota_us"), period = read_text(dir / "cpu.cfs_period_us");
          if (quota && period) take(cfs_quota(std::atoll(quota->c_str()), std::atoll(period->c_str())));
        }
    }
  }
  return smallest;
}

size_t affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return static_cast<size_t>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

std::optional<double> cpu_max_quota(std::string_view cpu_max) {
  std::istringstream in{std::string(cpu_max)};
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max") return std::nullopt;
  return cfs_quota(std::atoll(quota.c_str()), period);
}

std::optional<double> cfs_quota(long long quota_us, long long period_us) {
  if (quota_us <= 0 || period_us <= 0) return std::nullopt;
  return static_cast<double>(quota_us) / static_cast<double>(period_us);
}

size_t cores_within(size_t affinity, std::optional<double> quota) {
  size_t cores = std::max<size_t>(affinity, 1);
  if (quota) cores = std::min(cores, static_cast<size_t>(std::max(1.0, std::ceil(*quota))));
  return cores;
}

size_t usable_cores() {
  static const size_t cores = cores_within(affinity_cpus(), cgroup_quota());
  return cores;
}

}  // namespace kiln::core
