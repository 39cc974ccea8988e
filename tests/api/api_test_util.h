// Helpers for the API tests: detections from Ultralytics reference JSON (the CLI's layout)
// and a tolerant comparison (same classes and count; matched by class and best IoU,
// highest-confidence reference first; confidence and box corner deviations).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/model.h"
#include "kiln/prediction.h"
#include "support/test_support.h"

namespace kiln::test {

// The detections of `image` in a JSON array of {"image", "detections": [{class_id,
// confidence, box_xyxy}]} (a reference file's "predictions", or the ORT pipeline's output).
inline std::vector<Detection> detections_of(const nlohmann::json& predictions, const std::string& image) {
  std::vector<Detection> out;
  for (const auto& entry : predictions) {
    if (entry.at("image") != image) continue;
    for (const auto& d : entry.at("detections")) {
      auto b = d.at("box_xyxy").get<std::vector<float>>();
      out.push_back({d.at("class_id").get<int>(), d.at("confidence").get<float>(), {b[0], b[1], b[2], b[3]}});
    }
  }
  return out;
}

// The 7 images of the assets' images/ folder, in name order.
inline constexpr const char* kImages[] = {"bus.jpg",    "dog.jpg",    "giraffe.jpg", "horses.jpg",
                                          "kite.jpg",   "person.jpg", "zidane.jpg"};
inline std::vector<Image> asset_images() {
  std::vector<Image> out;
  for (const char* name : kImages) {
    auto image = load_image(asset(std::string("images/") + name));
    EXPECT_TRUE(image.ok()) << image.status().message();
    if (image.ok()) out.push_back(std::move(image).value());
  }
  return out;
}

inline std::vector<Detection> reference_detections(const std::string& reference_file, const std::string& image) {
  std::ifstream f(asset("reference/" + reference_file));
  return detections_of(nlohmann::json::parse(f).at("predictions"), image);
}

// What Ultralytics' predictor does with this ONNX file (tests/tools/vision_predict_ref.py:
// cv2 + letterbox + ONNX Runtime + NMS).
inline std::vector<Detection> ort_pipeline_detections(const std::filesystem::path& model,
                                                      const std::filesystem::path& image) {
  std::string cmd = "python3 " + (source_dir() / "tests/tools/vision_predict_ref.py").string() + " " + model.string() +
                    " " + image.string();
  std::string text;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
    pclose(p);
  }
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) ADD_FAILURE() << cmd << " printed no JSON";
  return j.is_discarded() ? std::vector<Detection>{} : detections_of(j, image.filename().string());
}

inline float iou(const Box& a, const Box& b) {
  float w = std::max(0.f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  float h = std::max(0.f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  float inter = w * h;
  float uni = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 0.f;
}

struct Deviation {
  double conf = 0, box = 0;
};

// Expects the same class multiset as `want`; returns the worst deviations of matched pairs.
inline Deviation compare_detections(const std::vector<Detection>& got, const std::vector<Detection>& want) {
  auto classes = [](const std::vector<Detection>& d) {
    std::vector<int> c;
    for (const auto& x : d) c.push_back(x.class_id);
    std::sort(c.begin(), c.end());
    return c;
  };
  EXPECT_EQ(classes(got), classes(want));
  std::vector<Detection> pool = got, refs = want;
  std::sort(refs.begin(), refs.end(), [](const Detection& a, const Detection& b) { return a.confidence > b.confidence; });
  Deviation dev;
  for (const Detection& r : refs) {
    auto best = pool.end();
    for (auto it = pool.begin(); it != pool.end(); ++it)
      if (it->class_id == r.class_id && (best == pool.end() || iou(it->box, r.box) > iou(best->box, r.box))) best = it;
    if (best == pool.end()) continue;
    dev.conf = std::max(dev.conf, static_cast<double>(std::fabs(best->confidence - r.confidence)));
    const float dx[4] = {best->box.x1 - r.box.x1, best->box.y1 - r.box.y1, best->box.x2 - r.box.x2,
                         best->box.y2 - r.box.y2};
    for (float d : dx) dev.box = std::max(dev.box, static_cast<double>(std::fabs(d)));
    pool.erase(best);
  }
  return dev;
}

// NMS keeps the most confident box of each cluster of overlapping same-class boxes; where
// two of them are closer in confidence than a lower precision's rounding (FP16: ~1e-3),
// either may be kept. For that case: the worst deviation of each box in `got` from its
// nearest same-class box in `candidates`, the reference's boxes before NMS (predicted with
// iou 1, which suppresses nothing).
inline Deviation deviation_from_candidates(const std::vector<Detection>& got, const std::vector<Detection>& candidates) {
  Deviation dev;
  for (const Detection& g : got) {
    double box = INFINITY, conf = INFINITY;
    for (const Detection& c : candidates) {
      if (c.class_id != g.class_id) continue;
      const double d = std::max({std::fabs(g.box.x1 - c.box.x1), std::fabs(g.box.y1 - c.box.y1),
                                 std::fabs(g.box.x2 - c.box.x2), std::fabs(g.box.y2 - c.box.y2)});
      if (d < box) {
        box = d;
        conf = std::fabs(g.confidence - c.confidence);
      }
    }
    dev.box = std::max(dev.box, box);
    dev.conf = std::max(dev.conf, conf);
  }
  return dev;
}

// `got` (GPU) vs `want` (the CPU's prediction of `image` with `po`), allowing NMS near-ties:
// when a box is off by more than `box_tol`, each kept box is measured against the CPU's
// candidates before NMS instead (predicted again with iou 1), and both figures are printed.
inline Deviation deviation_allowing_near_ties(Model& cpu, const Image& image, PredictOptions po,
                                              const std::vector<Detection>& got, const std::vector<Detection>& want,
                                              double box_tol, const std::string& what) {
  const Deviation d = compare_detections(got, want);
  if (d.box <= box_tol) return d;
  po.iou = 1.0;
  auto candidates = cpu.predict(image, po);
  EXPECT_TRUE(candidates.ok()) << candidates.status().message();
  if (!candidates.ok()) return d;
  const Deviation c = deviation_from_candidates(got, candidates->boxes);
  std::printf("%s: box corner dev %.3f px to the CPU's kept boxes, %.3f px (conf %.5f) to its candidates before NMS\n",
              what.c_str(), d.box, c.box, c.conf);
  return {std::max(d.conf, c.conf), c.box};
}

}  // namespace kiln::test
