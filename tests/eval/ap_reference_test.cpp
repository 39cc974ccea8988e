// kiln's matching and AP against tests/tools/val_ap_ref.py, an independent numpy
// re-implementation of Ultralytics' match_predictions and ap_per_class, on a random
// dataset with jittered, duplicated, missing, misclassified and spurious predictions.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "eval/average_precision.h"
#include "eval/detect_metrics.h"
#include "support/test_support.h"

namespace kiln::eval {
namespace {

using vision::BoxXyxy;

std::string run_reference(const nlohmann::json& input) {
  const auto dir = test::temp_dir();
  const auto in_path = dir / "in.json", out_path = dir / "out.json";
  std::ofstream(in_path) << input.dump();
  const std::string cmd = "python3 " + (test::source_dir() / "tests/tools/val_ap_ref.py").string() + " < " +
                          in_path.string() + " > " + out_path.string();
  if (std::system(cmd.c_str()) != 0) return "";
  std::ifstream in(out_path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(EvalApReference, RandomDatasetMatchesNumpyReimplementation) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  constexpr int kClasses = 4, kImages = 40;
  MetricsAccumulator acc;
  nlohmann::json images = nlohmann::json::array();
  for (int i = 0; i < kImages; ++i) {
    std::vector<BoxXyxy> gt, pred;
    std::vector<int> gc, pc;
    std::vector<float> conf;
    const int n_gt = static_cast<int>(u(rng) * 6);  // 0..5 objects, some images empty
    for (int k = 0; k < n_gt; ++k) {
      const float x = u(rng) * 500, y = u(rng) * 500, w = 10 + u(rng) * 120, h = 10 + u(rng) * 120;
      gt.push_back({x, y, x + w, y + h});
      gc.push_back(static_cast<int>(u(rng) * kClasses));
      // 0-2 predictions per object: jittered by up to 30% of its size, sometimes the wrong class.
      const int copies = static_cast<int>(u(rng) * 3);
      for (int c = 0; c < copies; ++c) {
        const float jx = (u(rng) - 0.5f) * 0.6f * w, jy = (u(rng) - 0.5f) * 0.6f * h;
        pred.push_back({x + jx, y + jy, x + w + jx * 0.5f, y + h + jy});
        pc.push_back(u(rng) < 0.15f ? static_cast<int>(u(rng) * kClasses) : gc.back());
        conf.push_back(u(rng));
      }
    }
    const int spurious = static_cast<int>(u(rng) * 3);
    for (int k = 0; k < spurious; ++k) {
      const float x = u(rng) * 500, y = u(rng) * 500;
      pred.push_back({x, y, x + 40, y + 40});
      pc.push_back(static_cast<int>(u(rng) * (kClasses + 1)));  // class 4 never has ground truth
      conf.push_back(u(rng) * 0.5f);
    }
    const std::vector<float> iou = box_iou_matrix(gt, pred);
    acc.add(match_image(pc, conf, gc, iou));
    nlohmann::json iou_rows = nlohmann::json::array();
    for (size_t l = 0; l < gt.size(); ++l)
      iou_rows.push_back(std::vector<float>(iou.begin() + l * pred.size(), iou.begin() + (l + 1) * pred.size()));
    images.push_back({{"pred_cls", pc}, {"conf", conf}, {"target_cls", gc}, {"iou", iou_rows}});
  }
  const std::string out = run_reference({{"images", images}});
  ASSERT_FALSE(out.empty()) << "tests/tools/val_ap_ref.py failed";
  const nlohmann::json ref = nlohmann::json::parse(out);
  const MetricsReport r = acc.report({});
  ASSERT_EQ(r.classes.size(), ref["classes"].size());
  for (size_t c = 0; c < r.classes.size(); ++c) {
    const auto& rc = ref["classes"][c];
    EXPECT_EQ(r.classes[c].class_id, rc["class"].get<int>());
    EXPECT_NEAR(r.classes[c].precision, rc["p"].get<double>(), 1e-9) << "class " << c;
    EXPECT_NEAR(r.classes[c].recall, rc["r"].get<double>(), 1e-9) << "class " << c;
    EXPECT_NEAR(r.classes[c].map50, rc["ap"][0].get<double>(), 1e-9) << "class " << c;
  }
  EXPECT_NEAR(r.all.map50, ref["map50"].get<double>(), 1e-9);
  EXPECT_NEAR(r.all.map50_95, ref["map"].get<double>(), 1e-9);
  EXPECT_NEAR(r.all.precision, ref["mp"].get<double>(), 1e-9);
  EXPECT_NEAR(r.all.recall, ref["mr"].get<double>(), 1e-9);
  // The case is not degenerate: partial scores, some matches at 0.5 lost at 0.95.
  EXPECT_GT(r.all.map50, 0.2);
  EXPECT_LT(r.all.map50, 0.95);
  EXPECT_LT(r.all.map50_95, r.all.map50 - 0.05);
}

}  // namespace
}  // namespace kiln::eval
