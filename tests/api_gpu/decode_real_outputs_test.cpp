// The GPU decoders (vision_cuda) vs the CPU vision:: decoders on real raw outputs: each
// model run by the CPU backend (Model::run) on letterboxed asset images, then both
// decoders on the same floats: same detections, confidence within 1e-5, boxes and
// keypoints within 1e-3 px, masks IoU >= 0.99 and area within 0.5%, obb equal.
#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "kiln/model.h"
#include "vision/letterbox.h"
#include "vision_cuda/gpu_decode_check.h"

namespace kiln::test {
namespace {

struct Case {
  const char* model;
  vision_cuda::Task task;
  float conf;
};

class DecodeRealOutputs : public ::testing::TestWithParam<Case> {};

TEST_P(DecodeRealOutputs, GpuDecodeEqualsCpuDecode) {
  KILN_REQUIRE_ASSETS();
  KILN_REQUIRE_GPU();
  const Case c = GetParam();
  if (!std::filesystem::exists(asset(std::string("models/") + c.model))) GTEST_SKIP() << c.model << " not in the assets";
  ModelOptions o;
  o.cache_dir = temp_dir();
  auto model = Model::load(asset(std::string("models/") + c.model), o);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const int ih = model->info().imgsz_h, iw = model->info().imgsz_w;
  for (const char* name : {"bus.jpg", "zidane.jpg", "horses.jpg"}) {
    auto image = vision::decode_image(asset(std::string("images/") + name));
    ASSERT_TRUE(image.ok());
    const std::vector<float> input = vision::to_nchw_rgb(vision::letterbox(*image, ih, iw).image);
    auto out = model->run(std::vector<Tensor>{Tensor{{1, 3, ih, iw}, input}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const Tensor& raw = (*out)[0];
    ASSERT_EQ(raw.shape.size(), 3u);
    vision_cuda::RawLayout l;
    l.task = c.task;
    l.channels = static_cast<int>(raw.shape[1]);
    l.anchors = static_cast<int>(raw.shape[2]);
    int extra = 0, pc = 0, ph = 0, pw = 0;
    if (c.task == vision_cuda::Task::kSegment) {
      const Tensor& p = (*out)[1];
      pc = static_cast<int>(p.shape[1]), ph = static_cast<int>(p.shape[2]), pw = static_cast<int>(p.shape[3]);
      extra = pc;
    } else if (c.task == vision_cuda::Task::kPose) {
      l.keypoints = 17, l.keypoint_dim = 3, extra = 51;
    } else if (c.task == vision_cuda::Task::kObb) {
      extra = 1;
    }
    l.classes = l.channels - 4 - extra;
    SCOPED_TRACE(std::string(c.model) + " " + name);
    for (float conf : {c.conf, 0.05f}) {
      vision::NmsOptions nms;
      nms.conf = conf;
      check_against_cpu(raw.data, l, nms, ih, iw, image->height, image->width,
                        c.task == vision_cuda::Task::kSegment ? &(*out)[1].data : nullptr, pc, ph, pw);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeRealOutputs,
                         ::testing::Values(Case{"yolo11n.onnx", vision_cuda::Task::kDetect, 0.25f},
                                           Case{"yolov8n-seg.onnx", vision_cuda::Task::kSegment, 0.25f},
                                           Case{"yolo11n-pose.onnx", vision_cuda::Task::kPose, 0.25f},
                                           Case{"yolo11n-obb-random.onnx", vision_cuda::Task::kObb, 0.5f}),
                         [](const auto& info) {
                           std::string s = info.param.model;
                           return s.substr(0, s.find('.')) == "yolo11n" ? std::string("detect")
                                  : info.param.task == vision_cuda::Task::kSegment ? std::string("segment")
                                  : info.param.task == vision_cuda::Task::kPose    ? std::string("pose")
                                                                                   : std::string("obb");
                         });

}  // namespace
}  // namespace kiln::test
