// kiln val's headline figures for other commands (kiln bench --data): the model, loaded
// with `options` (device, precision, task, names, int8), validated on a dataset with val's
// defaults (batch 32, conf 0.001, iou 0.7; imgsz: options.imgsz when set, else 640), as
// `kiln val` would print them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kiln/model.h"
#include "kiln/status.h"

namespace kiln::cli {

// Named figures in table order: detect P, R, mAP50, mAP50-95 (+ the mask or pose
// mAP50-95); classify top1, top5.
Result<std::vector<std::pair<std::string, double>>> val_figures(const std::string& model, const std::string& data,
                                                                const ModelOptions& options);

}  // namespace kiln::cli
