// kiln val's headline figures for other commands (kiln bench --data): the model validated
// on a dataset at one device and precision with val's defaults (imgsz 640, batch 32,
// conf 0.001, iou 0.7), as `kiln val` would print them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::cli {

// Named figures in table order: detect P, R, mAP50, mAP50-95 (+ the mask or pose
// mAP50-95); classify top1, top5. `int8`: the calibration of an int8 run.
Result<std::vector<std::pair<std::string, double>>> val_figures(const std::string& model, const std::string& data,
                                                                const std::string& device, const std::string& precision,
                                                                const Int8Options& int8 = {});

}  // namespace kiln::cli
