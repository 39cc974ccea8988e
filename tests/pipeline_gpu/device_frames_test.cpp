// A pipeline on frames in device memory (skipped without a GPU) gives what the same frames
// in host memory give: person -> ByteTrack -> pose (letterboxed crops, batch 1), OSNet
// embeddings (resized crops, ImageNet scaling, batch 8) and a detect stage on resized crops
// (batch 4), over a MOT17 sequence with many people, as BGR and as NV12 device frames. The host path fits each
// crop on the CPU and runs the stage models one call per stage (the reference the CLI tests
// hold against stages run by hand); the device path fits every crop of an inference with
// one kernel straight into the model's input. The kernel's inputs equal the CPU's bit for
// bit (tests/vision_cuda/crops_gpu_test.cpp), so the tolerances here (1e-3 px, cosine
// 0.9999) only absorb the engine running at another batch size.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "api/frame_test_util.h"
#include "api_gpu/device_copy.h"
#include "engine/config.h"
#include "kiln/model.h"
#include "pipeline/pipeline.h"
#include "support/test_support.h"

namespace kiln::test {
namespace {

bool gpu_present() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

constexpr float kPixels = 1e-3f;

void expect_near(const Box& got, const Box& want, const std::string& what) {
  EXPECT_NEAR(got.x1, want.x1, kPixels) << what;
  EXPECT_NEAR(got.y1, want.y1, kPixels) << what;
  EXPECT_NEAR(got.x2, want.x2, kPixels) << what;
  EXPECT_NEAR(got.y2, want.y2, kPixels) << what;
}

void expect_near(const Prediction& got, const Prediction& want, const std::string& what) {
  ASSERT_EQ(got.boxes.size(), want.boxes.size()) << what;
  for (size_t i = 0; i < want.boxes.size(); ++i) {
    EXPECT_EQ(got.boxes[i].class_id, want.boxes[i].class_id) << what;
    EXPECT_NEAR(got.boxes[i].confidence, want.boxes[i].confidence, 1e-4) << what;
    expect_near(got.boxes[i].box, want.boxes[i].box, what + " box " + std::to_string(i));
  }
  ASSERT_EQ(got.keypoints.size(), want.keypoints.size()) << what;
  for (size_t i = 0; i < want.keypoints.size(); ++i) {
    ASSERT_EQ(got.keypoints[i].points.size(), want.keypoints[i].points.size()) << what;
    for (size_t k = 0; k < want.keypoints[i].points.size(); ++k) {
      EXPECT_NEAR(got.keypoints[i].points[k].x, want.keypoints[i].points[k].x, kPixels) << what << " keypoint " << k;
      EXPECT_NEAR(got.keypoints[i].points[k].y, want.keypoints[i].points[k].y, kPixels) << what << " keypoint " << k;
    }
  }
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return ab / std::sqrt(aa * bb);
}

// One stage's outputs, object by object.
void expect_same_stage(const std::vector<std::optional<pipeline::StageOutput>>& got,
                       const std::vector<std::optional<pipeline::StageOutput>>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t o = 0; o < want.size(); ++o) {
    const std::string where = what + " object " + std::to_string(o);
    ASSERT_EQ(got[o].has_value(), want[o].has_value()) << where;
    if (!want[o]) continue;
    const pipeline::StageOutput &g = *got[o], &w = *want[o];
    ASSERT_EQ(g.embedding.size(), w.embedding.size()) << where;
    if (!w.embedding.empty()) {
      EXPECT_GE(cosine(g.embedding, w.embedding), 0.9999) << where;
    }
    expect_near(g.prediction, w.prediction, where);
  }
}

void expect_same_frame(const pipeline::PipelineFrame& got, const pipeline::PipelineFrame& want, const std::string& what) {
  expect_near(got.objects, want.objects, what + " objects");
  EXPECT_EQ(got.track_ids, want.track_ids) << what;
  ASSERT_EQ(got.stage_outputs.size(), want.stage_outputs.size());
  for (size_t s = 0; s < want.stage_outputs.size(); ++s)
    expect_same_stage(got.stage_outputs[s], want.stage_outputs[s], what + " stage " + std::to_string(s));
}

class PipelineDeviceFrames : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(assets_dir())) GTEST_SKIP() << "assets not found at " << assets_dir();
    if (!gpu_present()) GTEST_SKIP() << "no CUDA device";
    const std::filesystem::path yaml = temp_dir() / "pipeline_device_frames.yaml";
    const std::string models = asset("models").string();
    const std::vector<std::string> stages = {
        "{name: pose, model: " + models + "/yolo11n-pose.onnx, role: pose, padding: 0.1}",
        "{name: reid, model: reid, role: embed}",
        "{name: parts, model: parts, role: detect, crop: resize, conf: 0.1}"};
    auto pipeline_text = [](const std::string& name, const std::vector<std::string>& its_stages) {
      std::string text = "  " + name + ":\n    detector: detector\n    classes: person\n    tracker: bytetrack.yaml\n    stages:\n";
      for (const std::string& stage : its_stages) text += "      - " + stage + "\n";
      return text;
    };
    std::ofstream file(yaml);
    file << "models:\n"
         << "  detector: {source: " << models << "/yolo11n.onnx}\n"
         << "  reid: {source: " << models << "/reid/osnet_x0_25_msmt17.onnx, batch: 8}\n"
         << "  parts: {source: " << models << "/yolo11n-dynamic.onnx, imgsz: 320, batch: 4}\n"
         << "pipelines:\n"
         << pipeline_text("people", stages);
    // Each stage alone behind the same detector and tracker (stage_alone_<k>): the reference
    // for the stages that run side by side in `people`.
    for (size_t k = 0; k < stages.size(); ++k) file << pipeline_text("stage_alone_" + std::to_string(k), {stages[k]});
    file.close();
    auto config = engine::load_config(yaml);
    ASSERT_TRUE(config.ok()) << config.status().message();
    pipeline::PipelineOverrides overrides;
    overrides.device = "cuda";
    overrides.cache_dir = temp_dir();
    overrides.strict_gpu = true;
    auto pipe = pipeline::Pipeline::load(*config, "people", overrides);
    ASSERT_TRUE(pipe.ok()) << pipe.status().message();
    pipe_.emplace(std::move(pipe).value());
    config_ = std::move(config).value();
    overrides_ = overrides;
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }
  std::optional<pipeline::Pipeline> pipe_;
  engine::Config config_;
  pipeline::PipelineOverrides overrides_;
  cudaStream_t stream_ = nullptr;
};

TEST_F(PipelineDeviceFrames, EqualHostFrames) {
  std::vector<Image> frames;
  for (int i = 1; i <= 4; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d.jpg", i);
    auto image = load_image(asset(std::string("datasets/MOT17-mini/train/MOT17-09-FRCNN/img1/") + name));
    ASSERT_TRUE(image.ok()) << image.status().message();
    frames.push_back(std::move(image).value());
  }
  for (bool nv12 : {false, true}) {
    pipeline::Sequence host = pipe_->start_sequence(), device = pipe_->start_sequence();
    size_t objects = 0, embedded = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      const int64_t number = static_cast<int64_t>(i) + 1;
      const std::string what = std::string(nv12 ? "nv12" : "bgr") + " frame " + std::to_string(number);
      const Nv12 planes = to_nv12(frames[i]);
      const Frame host_frame = nv12 ? planes.frame() : frame_of(frames[i]);
      auto host_image = to_image(host_frame);  // NV12 converted as predict converts host frames
      ASSERT_TRUE(host_image.ok()) << host_image.status().message();
      auto want = host.process(*host_image, number);
      ASSERT_TRUE(want.ok()) << what << ": " << want.status().message();
      DeviceCopy copy(host_frame, stream_);  // queued on stream_: the pipeline must wait for it
      auto got = device.process(copy.frame, number);
      ASSERT_TRUE(got.ok()) << what << ": " << got.status().message();
      expect_same_frame(*got, *want, what);
      objects += want->objects.boxes.size();
      for (const auto& o : want->stage_outputs[1]) embedded += o && !o->embedding.empty();
    }
    EXPECT_GE(objects, 20u) << "the sequence should have people to crop";
    EXPECT_GE(embedded, 20u);
  }
}

// The stages after the tracker run side by side on a GPU (each on a thread and stream of its
// own): each one's outputs equal those of a pipeline that runs it alone, frame by frame, on
// NVDEC-like NV12 device frames.
TEST_F(PipelineDeviceFrames, StagesSideBySideEqualEachStageAlone) {
  std::vector<pipeline::Pipeline> alone;
  for (size_t k = 0; k < 3; ++k) {
    auto p = pipeline::Pipeline::load(config_, "stage_alone_" + std::to_string(k), overrides_);
    ASSERT_TRUE(p.ok()) << p.status().message();
    alone.push_back(std::move(p).value());
  }
  pipeline::Sequence together = pipe_->start_sequence();
  std::vector<pipeline::Sequence> each;
  for (pipeline::Pipeline& p : alone) each.push_back(p.start_sequence());
  size_t crops = 0;
  for (int i = 1; i <= 4; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d.jpg", i);
    auto image = load_image(asset(std::string("datasets/MOT17-mini/train/MOT17-09-FRCNN/img1/") + name));
    ASSERT_TRUE(image.ok()) << image.status().message();
    const Nv12 planes = to_nv12(*image);
    DeviceCopy copy(planes.frame(), stream_);
    auto got = together.process(copy.frame, i);
    ASSERT_TRUE(got.ok()) << got.status().message();
    for (size_t k = 0; k < each.size(); ++k) {
      const std::string what = "frame " + std::to_string(i) + " stage " + std::to_string(k);
      auto want = each[k].process(copy.frame, i);
      ASSERT_TRUE(want.ok()) << what << ": " << want.status().message();
      EXPECT_EQ(got->track_ids, want->track_ids) << what;
      expect_same_stage(got->stage_outputs.at(k), want->stage_outputs.at(0), what);
      crops += got->stage_crops.at(k);
    }
    const double longest = *std::max_element(got->stage_ms.begin(), got->stage_ms.end());
    EXPECT_GE(got->stages_ms, longest) << "frame " << i;
  }
  EXPECT_GE(crops, 60u) << "every stage should have run on the sequence's people";
}

// A host Frame goes through the host path (converted as predict converts it); a frame whose
// memory says device but whose planes are on the host is the detector's one-line error.
TEST_F(PipelineDeviceFrames, HostFramesConvertAndLyingFramesAreRefused) {
  auto image = load_image(asset("images/zidane.jpg"));
  ASSERT_TRUE(image.ok());
  pipeline::Sequence by_image = pipe_->start_sequence(), by_frame = pipe_->start_sequence();
  auto want = by_image.process(*image, 1);
  ASSERT_TRUE(want.ok()) << want.status().message();
  auto got = by_frame.process(frame_of(*image), 1);
  ASSERT_TRUE(got.ok()) << got.status().message();
  expect_same_frame(*got, *want, "host frame");
  Frame lying = frame_of(*image);
  lying.memory = FrameMemory::kDevice;
  auto r = by_frame.process(lying, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not device memory"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace kiln::test
