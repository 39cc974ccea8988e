// Why a machine shows no GPU, and what /proc/cpuinfo says about the CPU (x86 and Arm text
// as the Linux kernel writes it).
#include "engine/environment.h"

#include <gtest/gtest.h>

#include "engine/cpu_query.h"

namespace kiln::engine {
namespace {

TEST(Environment, NoDriverWhenTheDriverReportsNoVersion) {
  auto [cause, reason] = explain_no_gpu("", "13.0", "CUDA driver version is insufficient for CUDA runtime version");
  EXPECT_EQ(cause, NoGpuCause::kNoDriver);
  EXPECT_EQ(reason, "no NVIDIA driver: libcuda.so.1 not found");
}

TEST(Environment, DriverTooOldWhenItsCudaMajorIsBelowTheRuntimes) {
  auto [cause, reason] = explain_no_gpu("12.8", "13.0", "CUDA driver version is insufficient for CUDA runtime version");
  EXPECT_EQ(cause, NoGpuCause::kDriverTooOld);
  EXPECT_EQ(reason, "NVIDIA driver too old: it supports CUDA 12.8, kiln's CUDA runtime 13.0 needs a driver for CUDA 13 or newer");
  EXPECT_EQ(to_string(cause), "driver_too_old");
}

TEST(Environment, OlderMinorDriverIsNotTooOld) {
  // CUDA's minor-version compatibility: a 13.0 driver runs a 13.1 runtime.
  auto [cause, reason] = explain_no_gpu("13.0", "13.1", "");
  EXPECT_EQ(cause, NoGpuCause::kNoDevice);
  EXPECT_EQ(reason, "no NVIDIA GPU found (driver for CUDA 13.0)");
}

TEST(Environment, OtherDeviceQueryErrorsAreQuoted) {
  auto [cause, reason] = explain_no_gpu("13.0", "13.0", "initialization error");
  EXPECT_EQ(cause, NoGpuCause::kCudaError);
  EXPECT_EQ(reason, "the CUDA driver (CUDA 13.0) cannot list GPUs: initialization error");
}

TEST(Environment, CpuInfoX86) {
  // Two packages of two cores with two threads each; only some tracked flags present.
  std::string text;
  const char* ids[][2] = {{"0", "0"}, {"0", "1"}, {"1", "0"}, {"1", "1"}};
  for (int p = 0; p < 8; ++p)
    text += "processor\t: " + std::to_string(p) + "\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\n"
            "physical id\t: " + ids[p % 4][0] + "\nsiblings\t: 4\ncore id\t\t: " + ids[p % 4][1] +
            "\nflags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512bw avx512vl avx512_vnni\n\n";
  CpuInfo cpu = parse_cpuinfo(text);
  EXPECT_EQ(cpu.model, "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz");
  EXPECT_EQ(cpu.logical_cpus, 8);
  EXPECT_EQ(cpu.physical_cores, 4);
  EXPECT_EQ(cpu.instruction_sets,
            (std::vector<std::string>{"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"}));
}

TEST(Environment, CpuInfoArm) {
  // aarch64 kernels write "Features" and no model name or core ids.
  const std::string block =
      "BogoMIPS\t: 62.50\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
      "lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU part\t: 0xd42\n\n";
  CpuInfo cpu = parse_cpuinfo("processor\t: 0\n" + block + "processor\t: 1\n" + block);
  EXPECT_EQ(cpu.model, "");
  EXPECT_EQ(cpu.logical_cpus, 2);
  EXPECT_EQ(cpu.physical_cores, 2);
  EXPECT_EQ(cpu.instruction_sets, (std::vector<std::string>{"asimd", "asimdhp", "asimddp", "fphp"}));
}

TEST(Environment, ThisMachinesCpu) {
  CpuInfo cpu = query_cpu();
  EXPECT_FALSE(cpu.arch.empty());
  EXPECT_GE(cpu.logical_cpus, 1);
  EXPECT_GE(cpu.physical_cores, 1);
  EXPECT_LE(cpu.physical_cores, cpu.logical_cpus);
  EXPECT_GE(cpu.usable_cpus, 1);
  EXPECT_LE(cpu.usable_cpus, cpu.logical_cpus);
}

}  // namespace
}  // namespace kiln::engine
