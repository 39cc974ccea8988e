// vision_cuda's decoders vs the CPU vision:: decoders on the same synthetic raw outputs:
// clusters of overlapping boxes of a few classes (so NMS has work and ties between
// classes matter), with keypoints, angles or mask coefficients; end2end rows; top-5.
#include <random>

#include "vision/classify.h"
#include "vision_cuda/gpu_decode_check.h"

namespace kiln::test {
namespace {

// [4 + classes + extra, anchors]: boxes around a few centers, sigmoid-like scores.
std::vector<float> synthetic_raw(int anchors, int classes, int extra, uint32_t seed, float box_scale = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  const int channels = 4 + classes + extra;
  std::vector<float> raw(static_cast<size_t>(channels) * anchors);
  auto at = [&](int c, int a) -> float& { return raw[static_cast<size_t>(c) * anchors + a]; };
  for (int a = 0; a < anchors; ++a) {
    const int cluster = a % 7;
    at(0, a) = 60.f + 80.f * cluster + 12.f * u(rng);
    at(1, a) = 100.f + 60.f * (cluster % 3) + 12.f * u(rng);
    at(2, a) = box_scale * (40.f + 30.f * u(rng));
    at(3, a) = box_scale * (50.f + 30.f * u(rng));
    for (int c = 0; c < classes; ++c) at(4 + c, a) = u(rng) * u(rng);
    // Exact ties between anchors: the CPU's stable order must be kept.
    if (a % 11 == 0) at(4 + (a % classes), a) = 0.75f;
    for (int e = 0; e < extra; ++e) at(4 + classes + e, a) = 640.f * u(rng) - (e % 3 == 2 ? 320.f : 0.f);
  }
  return raw;
}

TEST(DecodeGpu, DetectEqualsCpu) {
  KILN_REQUIRE_GPU();
  for (uint32_t seed : {1u, 2u, 3u}) {
    vision_cuda::RawLayout l{vision_cuda::Task::kDetect, 1, false, 4 + 5, 2100, 5, 0, 0};
    std::vector<float> raw = synthetic_raw(l.anchors, l.classes, 0, seed);
    vision::NmsOptions nms;
    check_against_cpu(raw, l, nms, 640, 640, 1080, 810);
    nms.conf = 0.05f, nms.iou = 0.45, nms.max_det = 50;
    check_against_cpu(raw, l, nms, 640, 640, 480, 640);
    nms.agnostic = true, nms.classes = {1, 3};
    check_against_cpu(raw, l, nms, 640, 480, 1080, 810);
  }
}

TEST(DecodeGpu, PoseEqualsCpu) {
  KILN_REQUIRE_GPU();
  vision_cuda::RawLayout l{vision_cuda::Task::kPose, 1, false, 4 + 1 + 51, 2100, 1, 17, 3};
  std::vector<float> raw = synthetic_raw(l.anchors, 1, 51, 7);
  vision::NmsOptions nms;
  nms.conf = 0.1f;
  check_against_cpu(raw, l, nms, 640, 640, 1080, 810);
}

TEST(DecodeGpu, ObbEqualsCpu) {
  KILN_REQUIRE_GPU();
  vision_cuda::RawLayout l{vision_cuda::Task::kObb, 1, false, 4 + 3 + 1, 2100, 3, 0, 0};
  std::vector<float> raw = synthetic_raw(l.anchors, 3, 1, 11);
  for (int a = 0; a < l.anchors; ++a) raw[static_cast<size_t>(7) * l.anchors + a] = 0.001f * (a % 1571);  // angles
  vision::NmsOptions nms;
  nms.conf = 0.2f, nms.iou = 0.5;
  check_against_cpu(raw, l, nms, 1024, 1024, 1080, 810);
}

TEST(DecodeGpu, SegmentEqualsCpu) {
  KILN_REQUIRE_GPU();
  const int pc = 32, ph = 160, pw = 160;
  vision_cuda::RawLayout l{vision_cuda::Task::kSegment, 1, false, 4 + 3 + pc, 2100, 3, 0, 0};
  std::vector<float> raw = synthetic_raw(l.anchors, 3, 0, 5);
  raw.resize(static_cast<size_t>(l.channels) * l.anchors);
  std::mt19937 rng(9);
  std::normal_distribution<float> n01(0.f, 1.f);
  for (size_t i = static_cast<size_t>(4 + 3) * l.anchors; i < raw.size(); ++i) raw[i] = n01(rng);
  std::vector<float> protos(static_cast<size_t>(pc) * ph * pw);
  for (size_t i = 0; i < protos.size(); ++i) {  // smooth blobs so masks are regions, not noise
    const int x = static_cast<int>(i % pw), y = static_cast<int>(i / pw % ph), c = static_cast<int>(i / (ph * pw));
    protos[i] = std::sin(0.05f * x * (1 + c % 4) + c) * std::cos(0.04f * y * (1 + c % 3) - c);
  }
  vision::NmsOptions nms;
  nms.conf = 0.3f;
  check_against_cpu(raw, l, nms, 640, 640, 1080, 810, &protos, pc, ph, pw);
  check_against_cpu(raw, l, nms, 640, 640, 640, 640, &protos, pc, ph, pw);
}

// NMS-free rows: the first max_det rows over conf, then the class filter, scaled.
TEST(DecodeGpu, End2EndRowsPassThrough) {
  KILN_REQUIRE_GPU();
  const std::vector<float> rows = {
      100, 100, 200, 220, 0.90f, 2,  //
      10,  20,  30,  40,  0.10f, 0,  // under conf
      300, 310, 400, 420, 0.80f, 1,  //
      50,  60,  70,  80,  0.70f, 2,  // past max_det once the filter below applies
  };
  vision_cuda::RawLayout l{vision_cuda::Task::kDetect, 1, true, 6, 4, 3, 0, 0};
  vision::NmsOptions nms;
  nms.max_det = 2;
  const vision_cuda::ImageGeometry g = vision_cuda::image_geometry(640, 640, 1280, 1280);  // gain 0.5, no padding
  GpuDecoded got = gpu_decode(rows, l, nms, g);
  ASSERT_EQ(got.dets.size(), 2u);
  EXPECT_EQ(got.dets[0].class_id, 2);
  EXPECT_FLOAT_EQ(got.dets[0].score, 0.9f);
  EXPECT_FLOAT_EQ(got.dets[0].box[0], 200.f);
  EXPECT_FLOAT_EQ(got.dets[0].box[3], 440.f);
  EXPECT_EQ(got.dets[1].class_id, 1);
  EXPECT_FLOAT_EQ(got.dets[1].box[2], 800.f);
  nms.classes = {2};  // applied after max_det: the 0.70 row stays out
  got = gpu_decode(rows, l, nms, g);
  ASSERT_EQ(got.dets.size(), 1u);
  EXPECT_FLOAT_EQ(got.dets[0].score, 0.9f);
}

TEST(DecodeGpu, Top5EqualsCpu) {
  KILN_REQUIRE_GPU();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> scores(2 * 1000);
  for (float& s : scores) s = u(rng);
  scores[17] = scores[400] = 2.f;  // a tie: lower class first
  vision_cuda::RawLayout l{vision_cuda::Task::kDetect, 2, false, 5, 1, 1, 0, 0};
  auto decoder = vision_cuda::Decoder::create(l, 300);
  ASSERT_TRUE(decoder.ok());
  DeviceFloats d(scores);
  ASSERT_TRUE((*decoder)->enqueue_top5(d.p, 2, 1000, nullptr).ok());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  for (int i = 0; i < 2; ++i) {
    auto want = vision::top_k(std::span<const float>(scores).subspan(i * 1000, 1000), 5);
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ((*decoder)->top5(i)[k].class_id, want[k].class_id) << i << " " << k;
      EXPECT_EQ((*decoder)->top5(i)[k].score, want[k].confidence);
    }
  }
}

}  // namespace
}  // namespace kiln::test
