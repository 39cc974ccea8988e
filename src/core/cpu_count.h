// How many cores this process may keep busy: the CPUs of its affinity mask, capped by its
// cgroup's CPU quota, so that a container limited to 4 CPUs on a 64-core host starts 3
// helper threads, not the 63 std::thread::hardware_concurrency() would suggest (threads
// beyond the quota only wait for their turn, and hold memory while they do).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace kiln::core {

// Read once, then cached; at least 1.
size_t usable_cores();

// The parts, for tests. A quota in CPUs from cgroup v2's cpu.max ("150000 100000" -> 1.5;
// "max 100000" -> none) or v1's cpu.cfs_quota_us and cpu.cfs_period_us (-1 -> none).
std::optional<double> cpu_max_quota(std::string_view cpu_max);
std::optional<double> cfs_quota(long long quota_us, long long period_us);
// The affinity mask's CPUs, capped by the quota rounded up, at least 1.
size_t cores_within(size_t affinity_cpus, std::optional<double> quota);

}  // namespace kiln::core
