#include "val_report.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace kiln::cli {

void appendf(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  out.append(buf, static_cast<size_t>(std::min<int>(n, sizeof(buf) - 1)));
}

std::string metrics_table(const eval::MetricsReport& box, const eval::MetricsReport* pose, const char* second) {
  std::string t;
  appendf(t, "%22s%11s%11s%11s%11s%11s%11s", "Class", "Images", "Instances", "Box(P", "R", "mAP50", "mAP50-95)");
  if (pose) appendf(t, "%11s%11s%11s%11s", (std::string(second) + "(P").c_str(), "R", "mAP50", "mAP50-95)");
  t += "\n";
  auto row = [&](const eval::MetricsRow& r, const eval::MetricsRow* p) {
    appendf(t, "%22s%11d%11d%11.3g%11.3g%11.3g%11.3g", r.name.c_str(), r.images, r.instances, r.precision, r.recall,
            r.map50, r.map50_95);
    if (p) appendf(t, "%11.3g%11.3g%11.3g%11.3g", p->precision, p->recall, p->map50, p->map50_95);
    t += "\n";
  };
  row(box.all, pose ? &pose->all : nullptr);
  for (size_t i = 0; i < box.classes.size(); ++i) row(box.classes[i], pose ? &pose->classes[i] : nullptr);
  return t;
}

nlohmann::json row_json(const eval::MetricsRow& r) {
  nlohmann::json j = {{"name", r.name},           {"images", r.images},      {"instances", r.instances},
                      {"precision", r.precision}, {"recall", r.recall},      {"map50", r.map50},
                      {"map50_95", r.map50_95}};
  if (r.class_id >= 0) j["class"] = r.class_id;
  return j;
}

// "fp32,fp16" -> {"fp32", "fp16"}; empty -> {""} (the model's default precision).
Result<std::vector<std::string>> split_precisions(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    std::string p = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (p.empty() && !list.empty()) return error(StatusCode::kInvalidArgument, "--precision: empty entry in '", list, "'");
    if (std::find(out.begin(), out.end(), p) != out.end())
      return error(StatusCode::kInvalidArgument, "--precision: ", p, " given twice");
    out.push_back(p);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string summary_table(const std::vector<ValRun>& runs, size_t base) {
  std::string t;
  appendf(t, "%10s", "precision");
  for (const auto& [name, v] : runs[0].figures) appendf(t, "%16s", name.c_str());
  appendf(t, "%14s\n", "ms/img");
  for (const ValRun& r : runs) {
    appendf(t, "%10s", r.precision.c_str());
    for (size_t k = 0; k < r.figures.size(); ++k) {
      const double v = r.figures[k].second, d = v - runs[base].figures[k].second;
      if (&r == &runs[base]) appendf(t, "%16.5f", v);
      else appendf(t, "%8.5f %+7.4f", v, d);
    }
    appendf(t, "%14.2f\n", r.ms_per_image);
  }
  return t;
}
}  // namespace kiln::cli
