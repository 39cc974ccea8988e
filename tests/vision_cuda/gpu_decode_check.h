// Runs vision_cuda's Decoder on a raw output held in host memory and compares it with the
// CPU vision:: decoder on the same values (shared by the synthetic tests here and the
// real-model-output tests in tests/api_gpu).
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "vision/detect.h"
#include "vision/obb.h"
#include "vision/pose.h"
#include "vision/segment.h"
#include "vision_cuda/decode_gpu.h"

namespace kiln::test {

inline bool gpu_present() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

#define KILN_REQUIRE_GPU()                                           \
  do {                                                               \
    if (!::kiln::test::gpu_present()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

// A device copy of host floats, freed at scope exit.
struct DeviceFloats {
  float* p = nullptr;
  explicit DeviceFloats(const std::vector<float>& v) {
    EXPECT_EQ(cudaMalloc(&p, v.size() * sizeof(float)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(p, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceFloats() { cudaFree(p); }
};

struct GpuDecoded {
  std::vector<vision_cuda::GpuDetection> dets;
  std::vector<float> keypoints;            // per detection keypoints * 3
  std::vector<std::vector<uint8_t>> masks;  // segment, detections with a non-empty mask only
  std::vector<int> mask_dets;              // which detections those masks belong to
};

// Decodes image 0 of `raw` ([1, channels, anchors], or end2end rows) on the GPU.
inline GpuDecoded gpu_decode(const std::vector<float>& raw, const vision_cuda::RawLayout& layout,
                             const vision::NmsOptions& nms, const vision_cuda::ImageGeometry& g,
                             const std::vector<float>* protos = nullptr, int proto_channels = 0, int proto_h = 0,
                             int proto_w = 0) {
  GpuDecoded out;
  auto decoder = vision_cuda::Decoder::create(layout, std::max(nms.max_det, 300));
  EXPECT_TRUE(decoder.ok()) << decoder.status().message();
  if (!decoder.ok()) return out;
  DeviceFloats d_raw(raw);
  cudaStream_t stream;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  Status st = (*decoder)->enqueue(d_raw.p, layout, nms, {&g, 1}, stream);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  const int n = (*decoder)->count(0);
  const vision_cuda::GpuDetection* d = (*decoder)->detections(0);
  out.dets.assign(d, d + n);
  const int kv = layout.keypoints * 3;
  out.keypoints.assign((*decoder)->keypoints(0), (*decoder)->keypoints(0) + static_cast<size_t>(n) * kv);
  if (protos && n > 0) {
    DeviceFloats d_protos(*protos);
    st = (*decoder)->enqueue_masks(d_raw.p, layout, 0, d_protos.p, proto_channels, proto_h, proto_w, g, stream);
    EXPECT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    const size_t bytes = static_cast<size_t>(g.orig_width) * g.orig_height;
    for (int k = 0; k < n; ++k) {
      if ((*decoder)->mask_areas()[k] == 0) continue;
      const uint8_t* m = (*decoder)->masks() + k * bytes;
      out.masks.emplace_back(m, m + bytes);
      out.mask_dets.push_back(k);
    }
  }
  cudaStreamDestroy(stream);
  return out;
}

constexpr double kConfTol = 1e-5, kBoxTol = 1e-3;

inline void expect_same_detections(const std::vector<vision::Detection>& cpu,
                                   const std::vector<vision_cuda::GpuDetection>& gpu, const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  for (size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_EQ(gpu[i].class_id, cpu[i].class_id) << what << " #" << i;
    EXPECT_NEAR(gpu[i].score, cpu[i].confidence, kConfTol) << what << " #" << i;
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(gpu[i].box[k], cpu[i].box[k], kBoxTol) << what << " #" << i << " corner " << k;
  }
}

// Compares the GPU decode of image 0 of `raw` with the CPU decoder of `layout.task`.
inline void check_against_cpu(const std::vector<float>& raw, const vision_cuda::RawLayout& l,
                              const vision::NmsOptions& nms, int ih, int iw, int oh, int ow,
                              const std::vector<float>* protos = nullptr, int pc = 0, int ph = 0, int pw = 0) {
  const vision_cuda::ImageGeometry g = vision_cuda::image_geometry(ih, iw, oh, ow);
  GpuDecoded got = gpu_decode(raw, l, nms, g, protos, pc, ph, pw);
  if (l.task == vision_cuda::Task::kDetect) {
    expect_same_detections(vision::decode_detect(raw, l.anchors, l.classes, nms, ih, iw, oh, ow), got.dets, "detect");
  } else if (l.task == vision_cuda::Task::kPose) {
    auto cpu = vision::decode_pose(raw, l.anchors, l.classes, l.keypoints, l.keypoint_dim, nms, ih, iw, oh, ow);
    std::vector<vision::Detection> boxes;
    for (const auto& p : cpu) boxes.push_back(p.detection);
    expect_same_detections(boxes, got.dets, "pose");
    for (size_t i = 0; i < cpu.size() && i < got.dets.size(); ++i)
      for (int j = 0; j < l.keypoints; ++j) {
        const float* v = got.keypoints.data() + (i * l.keypoints + j) * 3;
        EXPECT_NEAR(v[0], cpu[i].keypoints[j].x, kBoxTol);
        EXPECT_NEAR(v[1], cpu[i].keypoints[j].y, kBoxTol);
        EXPECT_NEAR(v[2], cpu[i].keypoints[j].confidence, kConfTol);
      }
  } else if (l.task == vision_cuda::Task::kObb) {
    auto cpu = vision::decode_obb(raw, l.anchors, l.classes, nms, ih, iw, oh, ow);
    ASSERT_EQ(got.dets.size(), cpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      EXPECT_EQ(got.dets[i].class_id, cpu[i].class_id);
      EXPECT_NEAR(got.dets[i].score, cpu[i].confidence, kConfTol);
      const float want[5] = {cpu[i].box.cx, cpu[i].box.cy, cpu[i].box.w, cpu[i].box.h, cpu[i].box.angle};
      for (int k = 0; k < 5; ++k) EXPECT_NEAR(got.dets[i].box[k], want[k], kBoxTol) << "obb #" << i << " value " << k;
    }
  } else {
    vision::Prototypes pr{*protos, pc, ph, pw};
    auto cpu = vision::decode_segment(raw, l.anchors, l.classes, pr, nms, ih, iw, oh, ow);
    std::vector<vision::Detection> boxes;
    for (const auto& s : cpu) boxes.push_back(s.detection);
    std::vector<vision_cuda::GpuDetection> kept;
    for (int k : got.mask_dets) kept.push_back(got.dets[k]);
    expect_same_detections(boxes, kept, "segment");
    for (size_t i = 0; i < cpu.size() && i < got.masks.size(); ++i) {
      vision::Mask want = vision::mask_to_image(cpu[i].mask, oh, ow);
      long inter = 0, uni = 0, area_cpu = 0, area_gpu = 0;
      for (size_t p = 0; p < want.pixels.size(); ++p) {
        inter += want.pixels[p] & got.masks[i][p];
        uni += want.pixels[p] | got.masks[i][p];
        area_cpu += want.pixels[p], area_gpu += got.masks[i][p];
      }
      EXPECT_GE(uni ? static_cast<double>(inter) / uni : 1.0, 0.99) << "mask #" << i;
      EXPECT_LE(std::abs(area_gpu - area_cpu), 0.005 * area_cpu + 1) << "mask #" << i;
    }
  }
}

}  // namespace kiln::test
