// Which compute capabilities a list of CUDA architectures serves (NVIDIA's rules: SASS runs
// on later minor versions of its major, PTX on any later GPU, 'a' code on its exact GPU only).
// Needs no GPU.
#include "backends/cuda/device_support.h"

#include <gtest/gtest.h>

namespace kiln::cuda {
namespace {

std::vector<CudaArch> archs(std::string_view list) {
  auto parsed = parse_cuda_archs(list);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() ? *parsed : std::vector<CudaArch>{};
}

bool served(std::string_view list, int major, int minor) {
  return check_device_support(major, minor, archs(list)).ok();
}

TEST(DeviceSupport, ParsesCMakeEntriesIntoNvccNames) {
  EXPECT_EQ(cuda_arch_names(archs("75-real,90,121-virtual")),
            (std::vector<std::string>{"sm_75", "sm_90", "compute_90", "compute_121"}));
  EXPECT_EQ(cuda_arch_names(archs("80-real;90a-real;100f")),
            (std::vector<std::string>{"sm_80", "sm_90a", "sm_100f", "compute_100f"}));
}

TEST(DeviceSupport, RefusesMalformedEntriesByName) {
  for (std::string_view bad : {"sm_90", "90x", "90-realish", "9", "-real", "a"}) {
    auto parsed = parse_cuda_archs(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(std::string(bad)), std::string::npos) << parsed.status().message();
  }
  EXPECT_FALSE(parse_cuda_archs("").ok());
  EXPECT_FALSE(parse_cuda_archs(",;").ok());
}

TEST(DeviceSupport, Sm90WithPtxServesHopperAndLaterOnly) {
  // The default build (CMake "90" = sm_90 SASS + compute_90 PTX).
  EXPECT_TRUE(served("90", 9, 0));    // H100/H200: SASS
  EXPECT_TRUE(served("90", 10, 0));   // B200: PTX compiled by the driver
  EXPECT_TRUE(served("90", 12, 0));   // RTX 5090: PTX
  EXPECT_FALSE(served("90", 8, 0));   // A100
  EXPECT_FALSE(served("90", 8, 9));   // L4, RTX 4090
  EXPECT_FALSE(served("90", 7, 5));   // T4
}

TEST(DeviceSupport, SassRunsOnLaterMinorVersionsOfItsMajorOnly) {
  EXPECT_TRUE(served("80-real", 8, 0));
  EXPECT_TRUE(served("80-real", 8, 6));
  EXPECT_TRUE(served("80-real", 8, 7));  // Jetson Orin
  EXPECT_FALSE(served("86-real", 8, 0));
  EXPECT_FALSE(served("80-real", 9, 0));  // no PTX: nothing for the next major
  EXPECT_FALSE(served("90-real", 10, 0));
}

TEST(DeviceSupport, ArchAndFamilySpecificCode) {
  EXPECT_TRUE(served("90a-real", 9, 0));
  EXPECT_FALSE(served("90a", 10, 0));         // 'a' PTX does not carry forward
  EXPECT_TRUE(served("100f-virtual", 10, 3));  // family: later minor of 10
  EXPECT_FALSE(served("100f-virtual", 12, 0));
  EXPECT_TRUE(served("100-virtual", 12, 0));   // plain PTX: any later GPU
}

TEST(DeviceSupport, AllOfCuda13ServesTuringToBlackwellAndLater) {
  const char* all = "75-real,80-real,86-real,87-real,88-real,89-real,90-real,100-real,103-real,110-real,120-real,121";
  for (auto [major, minor] : std::vector<std::pair<int, int>>{
           {7, 5}, {8, 0}, {8, 6}, {8, 7}, {8, 9}, {9, 0}, {10, 0}, {10, 3}, {11, 0}, {12, 0}, {12, 1}, {13, 0}})
    EXPECT_TRUE(served(all, major, minor)) << major << "." << minor;
  Status v100 = check_device_support(7, 0, archs(all));  // Volta: dropped by CUDA 13
  EXPECT_EQ(v100.code(), StatusCode::kUnsupported);
  EXPECT_NE(v100.message().find("compute capability 7.0"), std::string::npos) << v100.message();
}

TEST(DeviceSupport, RefusalNamesTheGpuAndWhatIsCarried) {
  Status st = check_device_support(8, 6, archs("90"));
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_EQ(st.message(),
            "compute capability 8.6 is not served by this kiln's CUDA kernels (sm_90, compute_90): "
            "build kiln with -DKILN_CUDA_ARCHS=all, or =native on this machine");
}

TEST(DeviceSupport, ThisBinaryKnowsWhatItCarries) {
  // CMake compiled the list in; a list it could not read would leave this empty.
  const std::vector<CudaArch>& carried = carried_cuda_archs();
  ASSERT_FALSE(carried.empty());
  for (const CudaArch& a : carried) EXPECT_GE(a.cc, 75);
}

}  // namespace
}  // namespace kiln::cuda
