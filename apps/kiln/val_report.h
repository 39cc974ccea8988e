// How kiln val prints its figures: Ultralytics' table layout, the per-row JSON, and the
// comparison table of several precisions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "eval/detect_metrics.h"
#include "kiln/status.h"

namespace kiln::cli {

// printf into a string.
void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Ultralytics' layout: box columns, then a second group of columns (mask or pose figures,
// titled `second`) when `pose` is given.
std::string metrics_table(const eval::MetricsReport& box, const eval::MetricsReport* pose, const char* second);

nlohmann::json row_json(const eval::MetricsRow& r);

// "fp32,fp16" -> {"fp32", "fp16"}; empty -> {""} (the model's default precision).
Result<std::vector<std::string>> split_precisions(const std::string& list);

// One precision's outcome: its own table or JSON, and the headline figures the
// multi-precision summary compares.
struct ValRun {
  std::string precision;
  nlohmann::json json;
  std::string table;
  std::vector<std::pair<std::string, double>> figures;  // name, value (higher is better)
  double ms_per_image = 0;
};

// Several precisions: each run's figures with its delta to the run `base` (FP32's, or the
// first), and inference time per image.
std::string summary_table(const std::vector<ValRun>& runs, size_t base);

}  // namespace kiln::cli
