// yolo11n-obb-random and yolo11n-cls-random (random weights: only parity is meaningful)
// end to end on the CPU backend, against Ultralytics' postprocessing in numpy
// (tests/tools/vision_task_ref.py) on the same raw outputs and against the ONNX Runtime
// pipeline; plus the obb decoder on synthetic raw outputs with many overlapping boxes.
#include <random>

#include "task_support.h"
#include "vision/classify.h"
#include "vision/draw_tasks.h"
#include "vision/obb.h"
#include "tasks/task_json.h"

namespace kiln::tasks_test {
namespace {

std::vector<fs::path> images_under(const fs::path& dir) {
  std::vector<fs::path> images;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && vision::has_image_extension(e.path())) images.push_back(e.path());
  std::sort(images.begin(), images.end());
  return images;
}

std::string shape_args(int in_h, int in_w, int orig_h, int orig_w, int nc) {
  return std::to_string(in_h) + " " + std::to_string(in_w) + " " + std::to_string(orig_h) + " " +
         std::to_string(orig_w) + " " + std::to_string(nc);
}

// Same kept rotated boxes in the same order.
void expect_same_obbs(const nlohmann::json& got, const nlohmann::json& want, double conf_tol, double box_tol,
                      const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k]["class_id"], want[k]["class_id"]) << what << " #" << k;
    EXPECT_NEAR(got[k]["confidence"].get<double>(), want[k]["confidence"].get<double>(), conf_tol) << what << " #" << k;
    EXPECT_LE(max_corner_diff(got[k]["box_xywhr"], want[k]["box_xywhr"]), box_tol) << what << " #" << k;
  }
}

TEST(ObbTask, DecoderMatchesUltralyticsOnSyntheticOutputs) {
  // 3000 anchors, 15 classes, boxes crowded into 400x400 so that rotated NMS has work,
  // an image of 900x1400 letterboxed into 1024x1024.
  constexpr int kAnchors = 3000, kClasses = 15, kInput = 1024, kOrigH = 900, kOrigW = 1400;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> raw(static_cast<size_t>(4 + kClasses + 1) * kAnchors);
  auto at = [&](int c, int a) -> float& { return raw[static_cast<size_t>(c) * kAnchors + a]; };
  for (int a = 0; a < kAnchors; ++a) {
    at(0, a) = 100 + 400 * u(rng), at(1, a) = 200 + 400 * u(rng);
    at(2, a) = 20 + 150 * u(rng), at(3, a) = 10 + 80 * u(rng);
    for (int c = 0; c < kClasses; ++c) at(4 + c, a) = c < 3 ? std::pow(u(rng), 3.f) : 0.05f * u(rng);
    at(4 + kClasses, a) = (u(rng) - 0.25f) * std::numbers::pi_v<float>;
  }
  vision::NmsOptions opt;
  opt.conf = 0.3f;
  const auto dets = vision::decode_obb(raw, kAnchors, kClasses, opt, kInput, kInput, kOrigH, kOrigW);
  const nlohmann::json mine = vision::obb_result_json("synthetic", dets, {})["detections"];
  const fs::path dir = test::temp_dir();
  const std::string spec = write_raw(dir / "obb.raw", raw, {1, 4 + kClasses + 1, kAnchors});
  const auto post = run_ref("post obb 0.3 " + shape_args(kInput, kInput, kOrigH, kOrigW, kClasses) + " " + spec,
                            dir / "post.json");
  ASSERT_TRUE(post.has_value());
  EXPECT_GT(mine.size(), 20u);
  EXPECT_LT(mine.size(), 600u) << "NMS should have suppressed many of the crowded boxes";
  expect_same_obbs(mine, (*post)["detections"], 0, 1e-3, "synthetic");
  std::printf("synthetic: %zu of %d anchors kept\n", mine.size(), kAnchors);
  // Drawn outlines pass through every corner of every box that lies inside the image.
  vision::Image canvas(kOrigW, kOrigH, 0);
  vision::draw_obbs(canvas, dets, {});
  for (const auto& d : dets)
    for (const auto& c : vision::rbox_corners(d.box)) {
      const int x = static_cast<int>(std::lround(c[0])), y = static_cast<int>(std::lround(c[1]));
      if (x < 0 || y < 0 || x >= kOrigW || y >= kOrigH) continue;
      const uint8_t* p = canvas.row(y) + 3 * x;
      EXPECT_GT(p[0] + p[1] + p[2], 0) << "corner " << x << "," << y;
    }
}

TEST(ObbTask, Yolo11nObbRandomMatchesUltralyticsPostprocessing) {
  KILN_REQUIRE_ASSETS();
  const fs::path model_path = test::asset("models/yolo11n-obb-random.onnx");
  auto model = load_cpu_model(model_path);
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  const CpuModel& m = *model;
  // Random weights score every anchor below 0.001: a threshold under that keeps ~1000
  // candidates for the rotated NMS. Two dota8 tiles keep the CPU run short.
  const std::string conf = "0.0005";
  vision::NmsOptions opt;
  opt.conf = 0.0005f;
  const std::vector<fs::path> images = images_under(test::asset("datasets/dota8/images/val"));
  ASSERT_GE(images.size(), 2u);
  const fs::path dir = test::temp_dir();
  const auto ort = run_ref("run obb " + quote(model_path) + " " + conf + " " + quote(images[0]) + " " + quote(images[1]),
                           dir / "ort.json");
  ASSERT_TRUE(ort.has_value());
  for (size_t i = 0; i < 2; ++i) {
    auto img = vision::decode_image(images[i]);
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    const auto outputs = run_image(m, vision::letterbox(*img, m.input_h, m.input_w).image);
    const ir::Tensor& out = outputs.at(0);
    const int nc = static_cast<int>(out.dim(1)) - 5;
    const auto dets = vision::decode_obb(out.values<float>(), static_cast<int>(out.dim(2)), nc, opt, m.input_h,
                                         m.input_w, img->height, img->width);
    const nlohmann::json mine = vision::obb_result_json("", dets, m.meta.names)["detections"];
    ASSERT_FALSE(mine.empty());
    const std::string spec = write_raw(dir / "out0.raw", out.values<float>(), out.shape());
    const auto post = run_ref("post obb " + conf + " " + shape_args(m.input_h, m.input_w, img->height, img->width, nc) +
                                  " " + spec,
                              dir / "post.json");
    ASSERT_TRUE(post.has_value());
    expect_same_obbs(mine, (*post)["detections"], 0, 1e-3, images[i].filename().string() + " decoder");
    expect_same_obbs(mine, (*ort)[i]["detections"], 1e-5, 0.05, images[i].filename().string() + " vs ORT pipeline");
    std::printf("%s: %zu rotated boxes kept\n", images[i].filename().string().c_str(), mine.size());
  }
}

TEST(ClassifyTask, PreprocessingIsPixelExactWithPil) {
  KILN_REQUIRE_ASSETS();
  const fs::path dir = test::temp_dir();
  // imagenet10's thumbnails are upscaled; two large images exercise PIL's antialiased
  // downscale (the filter support widens with the scale).
  std::vector<fs::path> images = images_under(test::asset("datasets/imagenet10"));
  images.push_back(test::asset("images/bus.jpg"));
  images.push_back(test::asset("images/zidane.jpg"));
  int checked = 0;
  for (const fs::path& p : images) {
    auto img = vision::decode_image(p);
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    const vision::Image mine = vision::classify_crop(*img, 224);
    const fs::path out = dir / "crop.raw";
    const std::string cmd = "python3 " + quote(ref_tool()) + " classify_input " + quote(p) + " 224 " + quote(out);
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream in(out, std::ios::binary);
    std::vector<uint8_t> rgb(224 * 224 * 3);
    in.read(reinterpret_cast<char*>(rgb.data()), static_cast<std::streamsize>(rgb.size()));
    ASSERT_TRUE(in) << p;
    ASSERT_EQ(mine.width, 224);
    ASSERT_EQ(mine.height, 224);
    int differing = 0;
    for (size_t i = 0; i < rgb.size(); i += 3)  // kiln keeps BGR; PIL gave RGB
      differing += mine.pixels[i] != rgb[i + 2] || mine.pixels[i + 1] != rgb[i + 1] || mine.pixels[i + 2] != rgb[i];
    EXPECT_EQ(differing, 0) << p;
    ++checked;
  }
  EXPECT_EQ(checked, 22);
}

TEST(ClassifyTask, Yolo11nClsRandomTop5MatchesUltralytics) {
  KILN_REQUIRE_ASSETS();
  const fs::path model_path = test::asset("models/yolo11n-cls-random.onnx");
  auto model = load_cpu_model(model_path);
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  const CpuModel& m = *model;
  // The export ends in Softmax: its output is used as the probabilities.
  ASSERT_EQ(m.graph->outputs[0]->producer->op_type, "Softmax");
  const std::vector<fs::path> images = images_under(test::asset("datasets/imagenet10/val"));
  std::string args;
  for (const fs::path& p : images) {
    args += ' ';
    args += quote(p);
  }
  const fs::path dir = test::temp_dir();
  const auto ort = run_ref("run classify " + quote(model_path) + " 0" + args, dir / "ort.json");
  ASSERT_TRUE(ort.has_value());
  ASSERT_EQ(ort->size(), images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    auto img = vision::decode_image(images[i]);
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    const auto outputs = run_image(m, vision::classify_crop(*img, m.input_h));
    const ir::Tensor& out = outputs.at(0);
    const nlohmann::json mine =
        vision::classify_result_json("", vision::top_k(out.values<float>(), 5), m.meta.names)["top5"];
    const std::string spec = write_raw(dir / "out0.raw", out.values<float>(), out.shape());
    const auto post = run_ref("post classify 0 0 0 0 0 " + std::to_string(out.dim(1)) + " " + spec, dir / "post.json");
    ASSERT_TRUE(post.has_value());
    const nlohmann::json& want = (*post)["top5"];
    const nlohmann::json& theirs = (*ort)[i]["top5"];
    ASSERT_EQ(mine.size(), 5u);
    ASSERT_EQ(want.size(), 5u);
    ASSERT_EQ(theirs.size(), 5u);
    for (size_t k = 0; k < 5; ++k) {
      EXPECT_EQ(mine[k]["class_id"], want[k]["class_id"]) << images[i] << " #" << k;
      EXPECT_EQ(mine[k]["confidence"].get<double>(), want[k]["confidence"].get<double>()) << images[i] << " #" << k;
      EXPECT_EQ(mine[k]["class_id"], theirs[k]["class_id"]) << images[i] << " #" << k << " vs ORT pipeline";
      EXPECT_NEAR(mine[k]["confidence"].get<double>(), theirs[k]["confidence"].get<double>(), 1e-5)
          << images[i] << " #" << k << " vs ORT pipeline";
    }
  }
}

}  // namespace
}  // namespace kiln::tasks_test
