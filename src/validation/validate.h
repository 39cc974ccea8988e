// Ultralytics' val through the kiln API: accuracy of a detect, segment, pose, obb or classify
// model on an Ultralytics-format dataset, computed as Ultralytics' `yolo val` computes it (its
// dataloader's preprocessing, multi-label NMS, greedy matching at IoU 0.5:0.95 -- box IoU,
// mask IoU for segment, OKS for pose, ProbIoU for obb -- 101-point interpolated AP; classify
// top-1 / top-5). Used by `kiln val`, `kiln bench --data` and the Python package.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/model.h"
#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::validation {

struct ValOptions {
  std::string model;
  std::string data;
  std::string split = "val";
  int imgsz = 640;
  bool imgsz_given = false;  // else a static model keeps its own input size
  int batch = 32;
  float conf = 0.001f;
  bool conf_given = false;  // else obb models take Ultralytics' obb default, 0.01
  double iou = 0.7;
  int max_det = 300;
  // How the model loads: device, precision, task and names where the metadata lacks them,
  // engine cache, mismatch policy, build progress. validate() sets imgsz (from the fields
  // above) and batch 1 itself.
  ModelOptions model_options;
  // Called after each image with (done, total).
  std::function<void(size_t, size_t)> on_image;
  // Called once the model is loaded (what it runs on, whether its engine was built, notes).
  std::function<void(const ModelInfo&)> on_model;
  bool coco_predictions = false;  // fill ValRun::coco (detect, segment and pose models)
};

// One precision's outcome: its own table and JSON (what `kiln val` prints), and the headline
// figures a multi-precision summary compares.
struct ValRun {
  std::string precision;
  nlohmann::json json;
  std::string table;
  std::vector<std::pair<std::string, double>> figures;  // name, value (higher is better)
  double ms_per_image = 0;
  // COCO results entries (image_id, category_id: COCO's 91 ids for COCO's classes, else
  // class + 1; bbox [x, y, w, h] in image pixels; score), when asked for.
  nlohmann::json coco = nlohmann::json::array();
};

Result<ValRun> validate(const ValOptions& options);

// Several runs of one model: each run's figures with its delta to runs[base], and
// inference time per image.
std::string summary_table(const std::vector<ValRun>& runs, size_t base);

}  // namespace kiln::validation
