// Classification datasets in Ultralytics' (torchvision ImageFolder) layout: DIR/<split>/<class
// name>/<images>; class ids are the class folders in sorted order, names those of DIR/train
// when it exists (Ultralytics' check_cls_dataset), else of the split itself.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kiln/status.h"

namespace kiln::eval {

struct ClassifyDataset {
  std::vector<std::string> names;
  std::vector<std::filesystem::path> images;
  std::vector<int> labels;  // per image
};

Result<ClassifyDataset> load_classify_dataset(const std::filesystem::path& dir, const std::string& split = "val");

// Top-1 / top-5 accuracy: the fraction of images whose class is the best prediction, or
// among the five best (Ultralytics' ClassifyMetrics).
class TopKAccuracy {
 public:
  // top: predicted class ids, best first (at least one).
  void add(int label, const std::vector<int>& top);
  double top1() const { return count_ ? static_cast<double>(top1_) / count_ : 0.0; }
  double top5() const { return count_ ? static_cast<double>(top5_) / count_ : 0.0; }
  int count() const { return count_; }

 private:
  int count_ = 0, top1_ = 0, top5_ = 0;
};

}  // namespace kiln::eval
