#include "eval/classify_dataset.h"

#include <algorithm>
#include <cctype>

#include "vision/image_io.h"

namespace kiln::eval {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  // Iterated with error codes throughout: a symlink loop or an unreadable entry must not throw.
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (std::error_code type_ec; it->is_directory(type_ec)) names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<ClassifyDataset> load_classify_dataset(const fs::path& dir, const std::string& split) {
  std::error_code ec;
  const fs::path split_dir = dir / split;
  if (!fs::is_directory(split_dir, ec))
    return error(StatusCode::kNotFound, split_dir.string(), ": no such folder (expected DIR/", split, "/<class>/)");
  ClassifyDataset ds;
  ds.names = class_folders(fs::is_directory(dir / "train", ec) ? dir / "train" : split_dir);
  for (const std::string& name : class_folders(split_dir)) {
    const auto it = std::find(ds.names.begin(), ds.names.end(), name);
    if (it == ds.names.end())
      return error(StatusCode::kCorrupt, (split_dir / name).string(), ": class folder not in ", (dir / "train").string());
    std::vector<fs::path> files;
    for (auto e = fs::recursive_directory_iterator(split_dir / name, ec); !ec && e != fs::recursive_directory_iterator();
         e.increment(ec))
      if (std::error_code type_ec; e->is_regular_file(type_ec) && vision::has_image_extension(e->path()))
        files.push_back(e->path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      ds.images.push_back(f);
      ds.labels.push_back(static_cast<int>(it - ds.names.begin()));
    }
  }
  if (ds.images.empty()) return error(StatusCode::kNotFound, split_dir.string(), ": no images in class folders");
  return ds;
}

void TopKAccuracy::add(int label, const std::vector<int>& top) {
  ++count_;
  if (!top.empty() && top[0] == label) ++top1_;
  const size_t k = std::min<size_t>(5, top.size());
  if (std::find(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(k), label) != top.begin() + static_cast<std::ptrdiff_t>(k))
    ++top5_;
}

}  // namespace kiln::eval
