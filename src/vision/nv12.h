// NV12 (BT.601, limited range: the matrix and range FFmpeg's swscale applies to decoded
// video) to BGR, in OpenCV's integer arithmetic (cv::cvtColor COLOR_YUV2BGR_NV12: 20-bit
// fixed-point coefficients, each chroma sample shared by its 2x2 luma block). Written once
// for the CPU (api's host frames) and the letterbox kernel (device frames), so both give
// the same bytes; this header compiles as CUDA device code too.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define KILN_NV12_HD __host__ __device__ __forceinline__
#else
#define KILN_NV12_HD inline
#endif

namespace kiln::vision::nv12 {

inline constexpr int kShift = 20;
inline constexpr int kCy = 1220542;    // 255/219 * 2^20
inline constexpr int kCub = 2116026;   // 1.772 * 255/224 * 2^20
inline constexpr int kCug = -409993;
inline constexpr int kCvg = -852492;
inline constexpr int kCvr = 1673527;   // 1.402 * 255/224 * 2^20

KILN_NV12_HD uint8_t clamp_u8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// One pixel: its luma and its block's chroma -> b, g, r.
KILN_NV12_HD void to_bgr(int y, int u, int v, uint8_t bgr[3]) {
  u -= 128, v -= 128;
  const int half = 1 << (kShift - 1);
  const int luma = (y > 16 ? y - 16 : 0) * kCy;
  bgr[0] = clamp_u8((luma + half + kCub * u) >> kShift);
  bgr[1] = clamp_u8((luma + half + kCvg * v + kCug * u) >> kShift);
  bgr[2] = clamp_u8((luma + half + kCvr * v) >> kShift);
}

// Pixel (x, y) of an NV12 image given its two planes and their pitches.
KILN_NV12_HD void pixel_bgr(const uint8_t* luma, size_t luma_pitch, const uint8_t* chroma, size_t chroma_pitch, int x,
                            int y, uint8_t bgr[3]) {
  const uint8_t* uv = chroma + static_cast<size_t>(y >> 1) * chroma_pitch + static_cast<size_t>(x >> 1) * 2;
  to_bgr(luma[static_cast<size_t>(y) * luma_pitch + x], uv[0], uv[1], bgr);
}

}  // namespace kiln::vision::nv12
