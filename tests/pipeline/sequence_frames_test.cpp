// Sequence on kiln::Frames (CPU models): a host frame (BGR or NV12) gives what its BGR
// image gives; a device frame to a pipeline whose stages run on the CPU is refused with the
// reason before anything runs, and a pipeline without stages tracks a device frame's
// detections without reading its pixels.
#include <gtest/gtest.h>

#include <fstream>

#include "api/frame_test_util.h"
#include "engine/config.h"
#include "pipeline/pipeline.h"
#include "support/test_support.h"

namespace kiln::test {
namespace {

class SequenceFrames : public ::testing::Test {
 protected:
  void SetUp() override {
    KILN_REQUIRE_ASSETS();
    const std::filesystem::path yaml = temp_dir() / "sequence_frames.yaml";
    const std::string models = asset("models").string();
    std::ofstream(yaml) << "models:\n"
                        << "  detector: {source: " << models << "/yolo11n-dynamic.onnx, imgsz: 160}\n"
                        << "pipelines:\n"
                        << "  people:\n"
                        << "    detector: detector\n"
                        << "    classes: person\n"
                        << "    tracker: bytetrack.yaml\n"
                        << "    stages:\n"
                        << "      - {name: reid, model: " << models << "/reid/osnet_x0_25_msmt17.onnx, role: embed}\n"
                        << "  boxes:\n"
                        << "    detector: detector\n"
                        << "    tracker: bytetrack.yaml\n";
    auto config = engine::load_config(yaml);
    ASSERT_TRUE(config.ok()) << config.status().message();
    pipeline::PipelineOverrides overrides;
    overrides.cache_dir = temp_dir();
    for (const char* name : {"people", "boxes"}) {
      auto pipe = pipeline::Pipeline::load(*config, name, overrides);
      ASSERT_TRUE(pipe.ok()) << pipe.status().message();
      pipes_.push_back(std::move(pipe).value());
    }
    auto image = load_image(asset("images/zidane.jpg"));
    ASSERT_TRUE(image.ok());
    image_ = std::move(image).value();
  }
  std::vector<pipeline::Pipeline> pipes_;
  Image image_;
};

void expect_same_frame(const pipeline::PipelineFrame& got, const pipeline::PipelineFrame& want) {
  ASSERT_EQ(got.objects.boxes.size(), want.objects.boxes.size());
  for (size_t i = 0; i < want.objects.boxes.size(); ++i) {
    EXPECT_EQ(got.objects.boxes[i].box.x1, want.objects.boxes[i].box.x1);
    EXPECT_EQ(got.objects.boxes[i].box.y2, want.objects.boxes[i].box.y2);
  }
  EXPECT_EQ(got.track_ids, want.track_ids);
  ASSERT_EQ(got.stage_outputs.size(), want.stage_outputs.size());
  for (size_t s = 0; s < want.stage_outputs.size(); ++s) {
    ASSERT_EQ(got.stage_outputs[s].size(), want.stage_outputs[s].size());
    for (size_t o = 0; o < want.stage_outputs[s].size(); ++o) {
      ASSERT_EQ(got.stage_outputs[s][o].has_value(), want.stage_outputs[s][o].has_value());
      if (want.stage_outputs[s][o]) {
        EXPECT_EQ(got.stage_outputs[s][o]->embedding, want.stage_outputs[s][o]->embedding);
      }
    }
  }
}

TEST_F(SequenceFrames, HostFramesEqualTheirImages) {
  pipeline::Pipeline& pipe = pipes_[0];
  EXPECT_TRUE(pipe.needs_host_frames());  // its stage runs on the CPU
  const Nv12 nv12 = to_nv12(image_);
  for (const Frame& frame : {frame_of(image_), nv12.frame()}) {
    auto image = to_image(frame);
    ASSERT_TRUE(image.ok());
    pipeline::Sequence by_image = pipe.start_sequence(), by_frame = pipe.start_sequence();
    auto want = by_image.process(*image, 1);
    ASSERT_TRUE(want.ok()) << want.status().message();
    ASSERT_FALSE(want->objects.boxes.empty());
    auto got = by_frame.process(frame, 1);
    ASSERT_TRUE(got.ok()) << got.status().message();
    expect_same_frame(*got, *want);
  }
}

// The frame's planes are never read here: the refusal comes first, and a pipeline without
// stages hands the tracker only the boxes.
TEST_F(SequenceFrames, DeviceFramesNeedGpuStagesButNotForTracking) {
  auto detections = pipes_[0].detector().predict(image_, pipes_[0].detector_options());
  ASSERT_TRUE(detections.ok());
  ASSERT_FALSE(detections->boxes.empty());
  Frame device = frame_of(image_);
  device.memory = FrameMemory::kDevice;
  pipeline::Sequence people = pipes_[0].start_sequence();
  auto refused = people.process_detections(device, 1, *detections);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "pipeline people: stage reid runs on cpu; give it host frames");

  pipeline::Pipeline& boxes = pipes_[1];
  EXPECT_FALSE(boxes.needs_host_frames());
  pipeline::Sequence on_device = boxes.start_sequence(), on_host = boxes.start_sequence();
  auto got = on_device.process_detections(device, 1, *detections);
  ASSERT_TRUE(got.ok()) << got.status().message();
  auto want = on_host.process_detections(image_, 1, *detections);
  ASSERT_TRUE(want.ok()) << want.status().message();
  expect_same_frame(*got, *want);
  EXPECT_FALSE(got->track_ids.empty());
}

}  // namespace
}  // namespace kiln::test
