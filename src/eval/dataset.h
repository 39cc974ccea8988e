// Ultralytics-format datasets: a data yaml (path, train, val, names, kpt_shape) and image
// folders with a labels/ twin holding one txt per image.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/status.h"

namespace kiln::eval {

struct DatasetSpec {
  std::filesystem::path yaml_path;
  std::filesystem::path root;             // `path`, resolved
  std::vector<std::string> names;         // index = class id
  std::vector<std::filesystem::path> images;  // the split's images, sorted as Ultralytics sorts them
  int kpt_count = 0, kpt_dims = 0;        // kpt_shape, pose datasets only
};

// Reads the yaml and lists the images of `split` ("val", "train" or "test"). `path`
// defaults to the yaml's folder; a relative `path` is taken relative to the yaml's folder
// (Ultralytics takes it relative to the working directory, which makes `path: .` mean
// wherever val was started); split entries are relative to `path`. A split entry is a
// folder (searched recursively), a txt file listing images, or a list of either. `names`
// is a list or a {id: name} map.
Result<DatasetSpec> load_dataset(const std::filesystem::path& yaml_path, const std::string& split = "val");
// The same from the yaml's text already in memory; `yaml_path` names it in errors and is
// where relative paths start. The split's folders and lists are still read from disk.
Result<DatasetSpec> parse_dataset(std::string_view yaml, const std::filesystem::path& yaml_path,
                                  const std::string& split = "val");

// Class names by id from a yaml with `names` (a data yaml; a list or an {id: name} map) or
// from a text file with one name per line.
Result<std::vector<std::string>> load_class_names(const std::filesystem::path& path);

// One ground-truth object: class and box (cx, cy, w, h) normalized to the image size.
struct LabelBox {
  int class_id = 0;
  float cx = 0, cy = 0, w = 0, h = 0;
  std::vector<float> keypoints;  // pose: kpt_count x kpt_dims values (x, y normalized[, visibility])
  std::vector<float> polygon;    // polygon rows (segment, obb): x, y normalized, as in the file
};

// images/<...>/x.jpg -> labels/<...>/x.txt (the last "images" folder of the path), as
// Ultralytics' img2label_paths.
std::filesystem::path label_path_for(const std::filesystem::path& image_path);

// The image's objects. A missing or empty label file means no objects; a label path that
// exists but is not a file (a folder) is an error. Rows are
// `class cx cy w h`, or `class x1 y1 x2 y2 ...` polygons (their bounding box is used), or
// `class cx cy w h` + keypoints when spec.kpt_count > 0. Rows whose class and box are
// identical are counted once (Ultralytics drops them). A class id out of range, a malformed row or coordinates
// outside [0, 1.01] is an error naming the file and line.
Result<std::vector<LabelBox>> load_labels(const std::filesystem::path& image_path, const DatasetSpec& spec);
// The same rules over a label file's text already in memory; `label_path` names it in errors.
Result<std::vector<LabelBox>> parse_labels(std::string_view text, const std::filesystem::path& label_path,
                                           const DatasetSpec& spec);

}  // namespace kiln::eval
