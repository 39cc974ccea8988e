// Model::predict for segment, pose, obb and classify models on the CPU: the predictions
// must equal the vision decoders (tested against Ultralytics in tests/tasks) applied to
// run()'s raw outputs for the same input, which checks the API's wiring (preprocessing,
// output slicing, class and keypoint counts, masks mapped to the image). The pose and
// segment exports are static 640x640, so their square letterbox differs from Ultralytics'
// PyTorch reference (rect 640x480 for bus.jpg); only its confident people are required.
#include <gtest/gtest.h>

#include <fstream>

#include "api/api_test_util.h"
#include "kiln/model.h"
#include "vision/classify.h"
#include "vision/letterbox.h"
#include "vision/obb.h"
#include "vision/pose.h"
#include "vision/segment.h"

namespace kiln::test {
namespace {

namespace fs = std::filesystem;

Result<Model> load_task_model(const std::string& file) {
  ModelOptions o;
  o.cache_dir = temp_dir();
  return Model::load(asset("models/" + file), o);
}

Image bus() {
  auto image = load_image(asset("images/bus.jpg"));
  EXPECT_TRUE(image.ok()) << image.status().message();
  return image.ok() ? *image : Image();
}

vision::Image to_vision(const Image& image) {
  vision::Image v;
  v.width = image.width;
  v.height = image.height;
  v.pixels = image.pixels;
  return v;
}

// The raw outputs of `model` for `image` letterboxed to the model's square input.
std::vector<Tensor> raw_outputs(Model& model, const Image& image) {
  const int side = model.info().imgsz_h;
  Tensor in{{1, 3, side, side}, vision::to_nchw_rgb(vision::letterbox(to_vision(image), side, side).image)};
  auto raw = model.run({&in, 1});
  EXPECT_TRUE(raw.ok()) << raw.status().message();
  return raw.ok() ? std::move(raw).value() : std::vector<Tensor>{};
}

void expect_same_box(const Detection& got, const vision::Detection& want) {
  EXPECT_EQ(got.class_id, want.class_id);
  EXPECT_FLOAT_EQ(got.confidence, want.confidence);
  EXPECT_FLOAT_EQ(got.box.x1, want.box[0]);
  EXPECT_FLOAT_EQ(got.box.y2, want.box[3]);
}

// The people Ultralytics finds with >= 0.8 confidence are found here too (same class,
// IoU >= 0.8), despite the square letterbox.
void expect_confident_people(const std::vector<Detection>& got, const std::vector<Detection>& want) {
  for (const Detection& r : want) {
    if (r.confidence < 0.8f) continue;
    float best = 0;
    for (const Detection& d : got)
      if (d.class_id == r.class_id) best = std::max(best, iou(d.box, r.box));
    EXPECT_GE(best, 0.8f) << "reference class " << r.class_id << " conf " << r.confidence;
  }
}

TEST(ApiTasks, PoseEqualsTheDecoderOnRawOutputs) {
  KILN_REQUIRE_ASSETS();
  auto model = load_task_model("yolo11n-pose.onnx");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->info().task, "pose");
  ASSERT_EQ(model->info().kpt_shape, (std::vector<int64_t>{17, 3}));
  const Image image = bus();
  auto pred = model->predict(image);
  ASSERT_TRUE(pred.ok()) << pred.status().message();
  std::vector<Tensor> raw = raw_outputs(*model, image);
  ASSERT_EQ(raw.size(), 1u);
  auto want = vision::decode_pose(raw[0].data, static_cast<int>(raw[0].shape[2]), 1, 17, 3, vision::NmsOptions{}, 640,
                                  640, image.height, image.width);
  ASSERT_FALSE(want.empty());
  ASSERT_EQ(pred->boxes.size(), want.size());
  ASSERT_EQ(pred->keypoints.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    expect_same_box(pred->boxes[i], want[i].detection);
    ASSERT_EQ(pred->keypoints[i].points.size(), 17u);
    for (size_t k = 0; k < 17; ++k) {
      EXPECT_FLOAT_EQ(pred->keypoints[i].points[k].x, want[i].keypoints[k].x);
      EXPECT_FLOAT_EQ(pred->keypoints[i].points[k].y, want[i].keypoints[k].y);
      EXPECT_FLOAT_EQ(pred->keypoints[i].points[k].confidence, want[i].keypoints[k].confidence);
    }
  }
  expect_confident_people(pred->boxes, reference_detections("yolo11n-pose.images.json", "bus.jpg"));
}

TEST(ApiTasks, SegmentMasksAtImageSizeEqualTheDecoder) {
  KILN_REQUIRE_ASSETS();
  auto model = load_task_model("yolov8n-seg.onnx");
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->info().task, "segment");
  const Image image = bus();
  auto pred = model->predict(image);
  ASSERT_TRUE(pred.ok()) << pred.status().message();
  std::vector<Tensor> raw = raw_outputs(*model, image);
  ASSERT_EQ(raw.size(), 2u);
  vision::Prototypes protos{raw[1].data, static_cast<int>(raw[1].shape[1]), static_cast<int>(raw[1].shape[2]),
                            static_cast<int>(raw[1].shape[3])};
  auto want = vision::decode_segment(raw[0].data, static_cast<int>(raw[0].shape[2]), 80, protos, vision::NmsOptions{},
                                     640, 640, image.height, image.width);
  ASSERT_FALSE(want.empty());
  ASSERT_EQ(pred->boxes.size(), want.size());
  ASSERT_EQ(pred->masks.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    expect_same_box(pred->boxes[i], want[i].detection);
    const Mask& m = pred->masks[i];
    ASSERT_EQ(m.width, image.width);
    ASSERT_EQ(m.height, image.height);
    EXPECT_EQ(m.data, vision::mask_to_image(want[i].mask, image.height, image.width).pixels) << "mask " << i;
    // crop_mask keeps each mask inside its box.
    const Box& b = pred->boxes[i].box;
    size_t inside = 0, total = 0;
    for (int y = 0; y < m.height; ++y)
      for (int x = 0; x < m.width; ++x)
        if (m.data[static_cast<size_t>(y) * m.width + x]) {
          ++total;
          inside += x >= b.x1 - 3 && x <= b.x2 + 3 && y >= b.y1 - 3 && y <= b.y2 + 3;
        }
    EXPECT_GT(total, 1000u) << "mask " << i;
    EXPECT_GE(inside, total * 99 / 100) << "mask " << i;
  }
  expect_confident_people(pred->boxes, reference_detections("yolov8n-seg.images.json", "bus.jpg"));
}

TEST(ApiTasks, ObbAndClassifyEqualTheDecodersOnRawOutputs) {
  KILN_REQUIRE_ASSETS();
  const Image image = bus();
  {
    auto model = load_task_model("yolo11n-obb-random.onnx");
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_EQ(model->info().task, "obb");
    ASSERT_EQ(model->info().imgsz_h, 1024);
    PredictOptions po;
    po.conf = 0.01f;  // random weights: low scores
    auto pred = model->predict(image, po);
    ASSERT_TRUE(pred.ok()) << pred.status().message();
    vision::Letterboxed lb = vision::letterbox(to_vision(image), 1024, 1024);
    Tensor in{{1, 3, 1024, 1024}, vision::to_nchw_rgb(lb.image)};
    auto raw = model->run({&in, 1});
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    const Tensor& out = (*raw)[0];
    vision::NmsOptions nms;
    nms.conf = po.conf;
    auto want = vision::decode_obb(out.data, static_cast<int>(out.shape[2]), static_cast<int>(out.shape[1] - 5), nms,
                                   1024, 1024, image.height, image.width);
    ASSERT_EQ(pred->obb.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(pred->obb[i].class_id, want[i].class_id);
      EXPECT_FLOAT_EQ(pred->obb[i].confidence, want[i].confidence);
      EXPECT_FLOAT_EQ(pred->obb[i].cx, want[i].box.cx);
      EXPECT_FLOAT_EQ(pred->obb[i].angle, want[i].box.angle);
    }
  }
  {
    auto model = load_task_model("yolo11n-cls-random.onnx");
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_EQ(model->info().task, "classify");
    auto pred = model->predict(image);
    ASSERT_TRUE(pred.ok()) << pred.status().message();
    EXPECT_EQ(pred->input_width, 224);
    Tensor in{{1, 3, 224, 224}, vision::to_nchw_rgb(vision::classify_crop(to_vision(image), 224))};
    auto raw = model->run({&in, 1});
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    auto want = vision::top_k((*raw)[0].data, 5);
    ASSERT_EQ(pred->top5.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(pred->top5[i].class_id, want[i].class_id);
      EXPECT_FLOAT_EQ(pred->top5[i].score, want[i].confidence);
      if (i) {
        EXPECT_GE(pred->top5[i - 1].score, pred->top5[i].score);
      }
    }
  }
}

}  // namespace
}  // namespace kiln::test
