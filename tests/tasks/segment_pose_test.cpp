// yolov8n-seg and yolo11n-pose end to end on the CPU backend, on assets/images:
// (1) kiln's decoders vs the numpy reference postprocessing of the same raw outputs
//     (tight: the decoders must be Ultralytics' arithmetic);
// (2) the whole kiln pipeline vs the same exports run by ONNX Runtime through Ultralytics'
//     pre/postprocessing (square letterbox, as the static 640x640 exports require);
// (3) deviations from Ultralytics' PyTorch predictions (reference/*.images.json, made with
//     a rect letterbox, e.g. 640x480 for bus.jpg, that the static exports cannot take),
//     printed; on square images both letterboxes are the same 640x640 input, and there
//     these tolerances hold (count, classes, conf 0.01, corners 1.5 px, mask area
//     3%, keypoints 2 px).
#include <cstdio>

#include "task_support.h"
#include "vision/draw_tasks.h"
#include "vision/pose.h"
#include "tasks/task_json.h"
#include "vision/segment.h"

namespace kiln::tasks_test {
namespace {

struct ImageRun {
  std::string name;
  int orig_h = 0, orig_w = 0;
  std::vector<ir::Tensor> outputs;
};

// Letterboxes every asset image square to the model input and runs the model.
std::vector<ImageRun> run_all(const CpuModel& m) {
  std::vector<ImageRun> runs;
  for (const fs::path& p : asset_images()) {
    auto img = vision::decode_image(p);
    EXPECT_TRUE(img.ok()) << img.status().to_string();
    if (!img.ok()) continue;
    vision::Letterboxed lb = vision::letterbox(*img, m.input_h, m.input_w);
    runs.push_back({p.filename().string(), img->height, img->width, run_image(m, lb.image)});
  }
  return runs;
}

std::string image_args() {
  std::string s;
  for (const fs::path& p : asset_images()) {
    s += ' ';
    s += quote(p);
  }
  return s;
}

constexpr double kConfTol = 0.01, kBoxTol = 1.5, kAreaTol = 0.03, kKeypointTol = 2.0;

// Rect and square letterbox give the model the same input.
bool same_input_both_ways(const ImageRun& r) { return r.orig_h == r.orig_w; }

const nlohmann::json* find_image(const nlohmann::json& list, const std::string& name) {
  for (const auto& e : list)
    if (e["image"] == name) return &e;
  return nullptr;
}

nlohmann::json load_reference(const std::string& file) {
  std::ifstream in(test::asset("reference/" + file));
  return nlohmann::json::parse(in)["predictions"];
}

// Largest deviations seen, printed at the end of a test.
struct Deviation {
  double conf = 0, box = 0, extra = 0;  // extra: mask area (pixels or relative) or keypoint distance
};

// Same detections in the same order: classes equal, confidences and corners within tolerance.
void expect_same_detections(const nlohmann::json& got, const nlohmann::json& want, double conf_tol, double box_tol,
                            const std::string& what, Deviation& dev) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k]["class_id"], want[k]["class_id"]) << what << " #" << k;
    const double dc = std::abs(got[k]["confidence"].get<double>() - want[k]["confidence"].get<double>());
    const double db = max_corner_diff(got[k]["box_xyxy"], want[k]["box_xyxy"]);
    EXPECT_LE(dc, conf_tol) << what << " #" << k;
    EXPECT_LE(db, box_tol) << what << " #" << k;
    dev.conf = std::max(dev.conf, dc), dev.box = std::max(dev.box, db);
  }
}

double rel(double a, double b) { return std::abs(a - b) / std::max(b, 1.0); }

TEST(SegmentTask, Yolov8nSegMatchesUltralyticsPostprocessing) {
  KILN_REQUIRE_ASSETS();
  auto model = load_cpu_model(test::asset("models/yolov8n-seg.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  const CpuModel& m = *model;
  const fs::path dir = test::temp_dir();
  const auto ort = run_ref("run segment " + quote(test::asset("models/yolov8n-seg.onnx")) + " 0.25" + image_args(), dir / "ort.json");
  ASSERT_TRUE(ort.has_value()) << "reference pipeline failed";
  const nlohmann::json ultra = load_reference("yolov8n-seg.images.json");
  Deviation dec, pipe;
  double dev_conf = 0, dev_box = 0, dev_area = 0;
  int dev_count = 0;
  for (const ImageRun& r : run_all(m)) {
    ASSERT_EQ(r.outputs.size(), 2u);
    const ir::Tensor& out0 = r.outputs[0];
    const ir::Tensor& out1 = r.outputs[1];
    const int nc = static_cast<int>(out0.dim(1)) - 4 - static_cast<int>(out1.dim(1));
    vision::Prototypes protos{out1.values<float>(), static_cast<int>(out1.dim(1)), static_cast<int>(out1.dim(2)),
                              static_cast<int>(out1.dim(3))};
    const auto dets = vision::decode_segment(out0.values<float>(), static_cast<int>(out0.dim(2)), nc, protos, {},
                                             m.input_h, m.input_w, r.orig_h, r.orig_w);
    const nlohmann::json mine = vision::segment_result_json(r.name, dets, m.meta.names)["detections"];
    for (const auto& d : dets) {
      EXPECT_EQ(d.mask.width, m.input_w);
      EXPECT_EQ(d.mask.height, m.input_h);
    }
    if (!dets.empty()) {
      // The annotated image is tinted wherever the first mask, mapped to the image, is set.
      auto img = vision::decode_image(test::asset("images/" + r.name));
      ASSERT_TRUE(img.ok());
      vision::Image drawn = *img;
      vision::draw_segments(drawn, dets, m.meta.names);
      const vision::Mask on_image = vision::mask_to_image(dets[0].mask, r.orig_h, r.orig_w);
      size_t set = 0, changed = 0;
      for (size_t i = 0; i < on_image.pixels.size(); ++i) {
        if (!on_image.pixels[i]) continue;
        ++set;
        changed += !std::equal(drawn.pixels.begin() + 3 * i, drawn.pixels.begin() + 3 * i + 3, img->pixels.begin() + 3 * i);
      }
      EXPECT_GT(set, 0u) << r.name;
      EXPECT_GE(changed, set * 95 / 100) << r.name;
      EXPECT_TRUE(vision::save_jpeg(dir / ("seg_" + r.name), drawn).ok());
    }

    // (1) Same raw outputs through the numpy postprocessing.
    const std::string raw0 = write_raw(dir / "out0.raw", out0.values<float>(), out0.shape());
    const std::string raw1 = write_raw(dir / "out1.raw", out1.values<float>(), out1.shape());
    const auto post = run_ref("post segment 0.25 " + std::to_string(m.input_h) + " " + std::to_string(m.input_w) + " " +
                              std::to_string(r.orig_h) + " " + std::to_string(r.orig_w) + " " + std::to_string(nc) +
                              " " + raw0 + " " + raw1, dir / "post.json");
    ASSERT_TRUE(post.has_value());
    const nlohmann::json& want = (*post)["detections"];
    expect_same_detections(mine, want, 1e-6, 1e-3, r.name + " decoder", dec);
    for (size_t k = 0; k < std::min(mine.size(), want.size()); ++k) {
      // Only a pixel whose upsampled logit is within float rounding of 0 may differ.
      const int da = std::abs(mine[k]["mask_area"].get<int>() - want[k]["mask_area"].get<int>());
      EXPECT_LE(da, 2) << r.name << " #" << k;
      dec.extra = std::max(dec.extra, static_cast<double>(da));
    }

    // (2) kiln end to end vs ONNX Runtime + the same postprocessing.
    const nlohmann::json* o = find_image(*ort, r.name);
    ASSERT_NE(o, nullptr);
    expect_same_detections(mine, (*o)["detections"], 1e-4, 0.02, r.name + " vs ORT pipeline", pipe);
    for (size_t k = 0; k < std::min(mine.size(), (*o)["detections"].size()); ++k) {
      const double da = rel(mine[k]["mask_area"].get<double>(), (*o)["detections"][k]["mask_area"].get<double>());
      EXPECT_LE(da, 0.002) << r.name << " #" << k;
      pipe.extra = std::max(pipe.extra, da);
    }

    // (3) vs Ultralytics PyTorch (rect letterbox): printed.
    const nlohmann::json* u = find_image(ultra, r.name);
    ASSERT_NE(u, nullptr);
    const nlohmann::json& theirs = (*u)["detections"];
    if (theirs.size() != mine.size()) ++dev_count;
    if (same_input_both_ways(r)) {
      EXPECT_EQ(mine.size(), theirs.size()) << r.name;
    }
    const std::vector<int> pair = match(mine, theirs);
    for (size_t k = 0; k < theirs.size(); ++k) {
      if (pair[k] < 0) {
        std::printf("  %s: Ultralytics %s %.3f unmatched\n", r.name.c_str(),
                    theirs[k]["class_name"].get<std::string>().c_str(), theirs[k]["confidence"].get<double>());
        continue;
      }
      const auto& g = mine[pair[k]];
      const double dc = std::abs(g["confidence"].get<double>() - theirs[k]["confidence"].get<double>());
      const double db = max_corner_diff(g["box_xyxy"], theirs[k]["box_xyxy"]);
      const double da = rel(g["mask_area"].get<double>(), theirs[k]["mask_area_px"].get<double>());
      dev_conf = std::max(dev_conf, dc), dev_box = std::max(dev_box, db), dev_area = std::max(dev_area, da);
      if (same_input_both_ways(r)) {
        EXPECT_LE(dc, kConfTol) << r.name << " #" << k;
        EXPECT_LE(db, kBoxTol) << r.name << " #" << k;
        EXPECT_LE(da, kAreaTol) << r.name << " #" << k;
      }
      std::printf("  %s: %-10s conf %.3f vs %.3f, corner %.2f px, mask area %d vs %d (%.1f%%)\n", r.name.c_str(),
                  theirs[k]["class_name"].get<std::string>().c_str(), g["confidence"].get<double>(),
                  theirs[k]["confidence"].get<double>(), db, g["mask_area"].get<int>(),
                  theirs[k]["mask_area_px"].get<int>(), 100 * da);
    }
  }
  std::printf("yolov8n-seg decoder vs numpy on the same outputs: max conf dev %.2g, corner %.2g px, mask area %.0f px\n"
              "yolov8n-seg kiln vs ORT pipeline: max conf dev %.2g, corner %.2g px, mask area %.2f%%\n",
              dec.conf, dec.box, dec.extra, pipe.conf, pipe.box, 100 * pipe.extra);
  std::printf("yolov8n-seg vs Ultralytics PyTorch (rect letterbox): %d images with another count, max conf dev %.3f, "
              "max corner dev %.2f px, max mask area dev %.1f%%\n",
              dev_count, dev_conf, dev_box, 100 * dev_area);
}

TEST(PoseTask, Yolo11nPoseMatchesUltralyticsPostprocessing) {
  KILN_REQUIRE_ASSETS();
  auto model = load_cpu_model(test::asset("models/yolo11n-pose.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  const CpuModel& m = *model;
  const fs::path dir = test::temp_dir();
  ASSERT_EQ(m.meta.kpt_shape.size(), 2u);
  const int nk = static_cast<int>(m.meta.kpt_shape[0]), kd = static_cast<int>(m.meta.kpt_shape[1]);
  const auto ort = run_ref("run pose " + quote(test::asset("models/yolo11n-pose.onnx")) + " 0.25" + image_args(), dir / "ort.json");
  ASSERT_TRUE(ort.has_value()) << "reference pipeline failed";
  const nlohmann::json ultra = load_reference("yolo11n-pose.images.json");
  Deviation dec, pipe;
  double dev_conf = 0, dev_box = 0, dev_kpt = 0, dev_kconf = 0;
  int dev_count = 0;
  for (const ImageRun& r : run_all(m)) {
    const ir::Tensor& out = r.outputs.at(0);
    const int nc = static_cast<int>(out.dim(1)) - 4 - nk * kd;
    const auto dets = vision::decode_pose(out.values<float>(), static_cast<int>(out.dim(2)), nc, nk, kd, {}, m.input_h,
                                          m.input_w, r.orig_h, r.orig_w);
    const nlohmann::json mine = vision::pose_result_json(r.name, dets, m.meta.names)["detections"];
    if (!dets.empty()) {
      // The annotated image has its keypoint dots where the confident keypoints are.
      auto img = vision::decode_image(test::asset("images/" + r.name));
      ASSERT_TRUE(img.ok());
      vision::Image drawn = *img;
      vision::draw_poses(drawn, dets, m.meta.names);
      for (const vision::Keypoint& k : dets[0].keypoints) {
        const int x = std::min(static_cast<int>(k.x), r.orig_w - 1), y = std::min(static_cast<int>(k.y), r.orig_h - 1);
        const size_t i = (static_cast<size_t>(y) * r.orig_w + x) * 3;
        if (k.confidence < 0.25f) continue;
        EXPECT_FALSE(std::equal(drawn.pixels.begin() + i, drawn.pixels.begin() + i + 3, img->pixels.begin() + i))
            << r.name << " keypoint at " << x << "," << y;
      }
      EXPECT_TRUE(vision::save_jpeg(dir / ("pose_" + r.name), drawn).ok());
    }
    auto expect_keypoints = [&](const nlohmann::json& want, double xy_tol, double conf_tol, const std::string& what,
                                Deviation& dev) {
      for (size_t k = 0; k < std::min(mine.size(), want.size()); ++k)
        for (int j = 0; j < nk; ++j) {
          const auto& a = mine[k]["keypoints"][j];
          const auto& b = want[k]["keypoints"][j];
          const double dxy = std::max(std::abs(a[0].get<double>() - b[0].get<double>()),
                                      std::abs(a[1].get<double>() - b[1].get<double>()));
          EXPECT_LE(dxy, xy_tol) << what << " #" << k << " kpt " << j;
          EXPECT_NEAR(a[2].get<double>(), b[2].get<double>(), conf_tol) << what << " #" << k << " kpt " << j;
          dev.extra = std::max(dev.extra, dxy);
        }
    };

    const std::string raw0 = write_raw(dir / "out0.raw", out.values<float>(), out.shape());
    const auto post = run_ref("post pose 0.25 " + std::to_string(m.input_h) + " " + std::to_string(m.input_w) + " " +
                              std::to_string(r.orig_h) + " " + std::to_string(r.orig_w) + " " + std::to_string(nc) +
                              " " + raw0, dir / "post.json");
    ASSERT_TRUE(post.has_value());
    expect_same_detections(mine, (*post)["detections"], 1e-6, 1e-3, r.name + " decoder", dec);
    expect_keypoints((*post)["detections"], 1e-3, 1e-6, r.name + " decoder", dec);

    const nlohmann::json* o = find_image(*ort, r.name);
    ASSERT_NE(o, nullptr);
    expect_same_detections(mine, (*o)["detections"], 1e-4, 0.02, r.name + " vs ORT pipeline", pipe);
    expect_keypoints((*o)["detections"], 0.02, 1e-4, r.name + " vs ORT pipeline", pipe);

    const nlohmann::json* u = find_image(ultra, r.name);
    ASSERT_NE(u, nullptr);
    const nlohmann::json& theirs = (*u)["detections"];
    if (theirs.size() != mine.size()) ++dev_count;
    if (same_input_both_ways(r)) {
      EXPECT_EQ(mine.size(), theirs.size()) << r.name;
    }
    const std::vector<int> pair = match(mine, theirs);
    for (size_t k = 0; k < theirs.size(); ++k) {
      if (pair[k] < 0) {
        std::printf("  %s: Ultralytics person %.3f unmatched\n", r.name.c_str(), theirs[k]["confidence"].get<double>());
        continue;
      }
      const auto& g = mine[pair[k]];
      double dk = 0, dkc = 0;
      for (int j = 0; j < nk; ++j) {
        const auto& a = g["keypoints"][j];
        const auto& b = theirs[k]["keypoints_xyc"][j];
        dk = std::max(dk, std::hypot(a[0].get<double>() - b[0].get<double>(), a[1].get<double>() - b[1].get<double>()));
        dkc = std::max(dkc, std::abs(a[2].get<double>() - b[2].get<double>()));
      }
      const double dc = std::abs(g["confidence"].get<double>() - theirs[k]["confidence"].get<double>());
      const double db = max_corner_diff(g["box_xyxy"], theirs[k]["box_xyxy"]);
      dev_conf = std::max(dev_conf, dc), dev_box = std::max(dev_box, db);
      dev_kpt = std::max(dev_kpt, dk), dev_kconf = std::max(dev_kconf, dkc);
      if (same_input_both_ways(r)) {
        EXPECT_LE(dc, kConfTol) << r.name << " #" << k;
        EXPECT_LE(db, kBoxTol) << r.name << " #" << k;
        EXPECT_LE(dk, kKeypointTol) << r.name << " #" << k;
      }
      std::printf("  %s: person conf %.3f vs %.3f, corner %.2f px, keypoints max %.2f px, kpt conf max %.3f\n",
                  r.name.c_str(), g["confidence"].get<double>(), theirs[k]["confidence"].get<double>(), db, dk, dkc);
    }
  }
  std::printf("yolo11n-pose decoder vs numpy on the same outputs: max conf dev %.2g, corner %.2g px, keypoint %.2g px\n"
              "yolo11n-pose kiln vs ORT pipeline: max conf dev %.2g, corner %.2g px, keypoint %.2g px\n",
              dec.conf, dec.box, dec.extra, pipe.conf, pipe.box, pipe.extra);
  std::printf("yolo11n-pose vs Ultralytics PyTorch (rect letterbox): %d images with another count, max conf dev %.3f, "
              "max corner dev %.2f px, max keypoint dev %.2f px, max keypoint conf dev %.3f\n",
              dev_count, dev_conf, dev_box, dev_kpt, dev_kconf);
}

}  // namespace
}  // namespace kiln::tasks_test
