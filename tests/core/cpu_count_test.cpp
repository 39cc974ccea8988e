// usable_cores: the affinity mask capped by the cgroup's CPU quota, from hand-written
// cgroup v2 / v1 values, and the live answer against the affinity mask.
#include "core/cpu_count.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace kiln::core {
namespace {

TEST(CpuCount, CgroupV2CpuMax) {
  EXPECT_EQ(cpu_max_quota("max 100000\n"), std::nullopt);
  EXPECT_DOUBLE_EQ(*cpu_max_quota("400000 100000\n"), 4.0);
  EXPECT_DOUBLE_EQ(*cpu_max_quota("150000 100000"), 1.5);
  EXPECT_EQ(cpu_max_quota(""), std::nullopt);
  EXPECT_EQ(cpu_max_quota("garbage"), std::nullopt);
}

TEST(CpuCount, CgroupV1Quota) {
  EXPECT_EQ(cfs_quota(-1, 100000), std::nullopt);
  EXPECT_DOUBLE_EQ(*cfs_quota(50000, 100000), 0.5);
  EXPECT_EQ(cfs_quota(50000, 0), std::nullopt);
}

TEST(CpuCount, QuotaCapsTheAffinityMaskRoundingUp) {
  EXPECT_EQ(cores_within(64, 4.0), 4u);
  EXPECT_EQ(cores_within(64, 1.5), 2u);
  EXPECT_EQ(cores_within(64, 0.5), 1u);
  EXPECT_EQ(cores_within(2, 8.0), 2u);  // a quota above the mask changes nothing
  EXPECT_EQ(cores_within(16, std::nullopt), 16u);
  EXPECT_EQ(cores_within(0, std::nullopt), 1u);
}

TEST(CpuCount, NeverMoreThanTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  EXPECT_GE(usable_cores(), 1u);
  EXPECT_LE(usable_cores(), static_cast<size_t>(CPU_COUNT(&set)));
}

}  // namespace
}  // namespace kiln::core
