#include "eval/dataset.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <cmath>
#include <fstream>
#include <string_view>

#include "core/file_util.h"

namespace kiln::eval {

namespace {

namespace fs = std::filesystem;

// Ultralytics' IMG_FORMATS: files with other extensions are not images of the split.
bool is_dataset_image(const fs::path& p) {
  static const std::array<const char*, 11> kExts = {"bmp", "dng", "jpeg", "jpg", "mpo", "png",
                                                     "tif", "tiff", "webp", "pfm", "heic"};
  std::string ext = p.extension().string();
  if (ext.empty()) return false;
  ext = ext.substr(1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kExts.begin(), kExts.end(), ext) != kExts.end();
}

Status add_split_entry(const fs::path& entry, std::vector<fs::path>& images) {
  std::error_code ec;
  if (fs::is_directory(entry, ec)) {
    for (auto it = fs::recursive_directory_iterator(entry, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (std::error_code type_ec; it->is_regular_file(type_ec) && is_dataset_image(it->path()))  // no throwing
        images.push_back(it->path());
    if (ec) return error(StatusCode::kIoError, entry.string(), ": cannot list: ", ec.message());
    return Status::Ok();
  }
  if (fs::is_regular_file(entry, ec) && entry.extension() == ".txt") {
    // One image path per line; "./x" and other relative paths are relative to the txt's folder.
    std::ifstream in(entry);
    if (!in) return error(StatusCode::kIoError, entry.string(), ": cannot read");
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      if (line.empty()) continue;
      fs::path p(line);
      if (p.is_relative()) p = entry.parent_path() / p;
      if (is_dataset_image(p)) images.push_back(p.lexically_normal());
    }
    return Status::Ok();
  }
  return error(StatusCode::kNotFound, entry.string(), ": split folder or list does not exist");
}

Result<std::vector<std::string>> parse_names(const YAML::Node& node, const fs::path& yaml_path) {
  std::vector<std::string> names;
  if (node.IsSequence()) {
    for (const auto& n : node) names.push_back(n.as<std::string>());
  } else if (node.IsMap()) {
    std::vector<std::pair<int, std::string>> items;
    for (const auto& kv : node) items.emplace_back(kv.first.as<int>(), kv.second.as<std::string>());
    std::sort(items.begin(), items.end());
    for (size_t i = 0; i < items.size(); ++i)
      if (items[i].first != static_cast<int>(i))
        return error(StatusCode::kCorrupt, yaml_path.string(), ": names must have the ids 0..", items.size() - 1,
                     ", id ", items[i].first, " is out of place");
    for (auto& [id, name] : items) names.push_back(std::move(name));
  } else {
    return error(StatusCode::kCorrupt, yaml_path.string(), ": `names` must be a list or an {id: name} map");
  }
  if (names.empty()) return error(StatusCode::kCorrupt, yaml_path.string(), ": `names` is empty");
  return names;
}

}  // namespace

Result<std::vector<std::string>> load_class_names(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return error(StatusCode::kNotFound, path.string(), ": no such file");
  if (path.extension() == ".yaml" || path.extension() == ".yml") {
    try {
      const YAML::Node doc = YAML::LoadFile(path.string());
      if (!doc.IsMap() || !doc["names"]) return error(StatusCode::kCorrupt, path.string(), ": no `names`");
      return parse_names(doc["names"], path);
    } catch (const YAML::Exception& e) {
      return error(StatusCode::kCorrupt, path.string(), ": not valid YAML (", e.what(), ")");
    }
  }
  std::ifstream in(path);
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.empty()) return error(StatusCode::kCorrupt, path.string(), ": no class names (one per line)");
  return names;
}

Result<DatasetSpec> load_dataset(const fs::path& yaml_path, const std::string& split) {
  std::error_code ec;
  if (!fs::is_regular_file(yaml_path, ec)) return error(StatusCode::kNotFound, yaml_path.string(), ": no such file");
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(yaml_path));
  return parse_dataset(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), yaml_path, split);
}

Result<DatasetSpec> parse_dataset(std::string_view yaml, const fs::path& yaml_path, const std::string& split) {
  std::error_code ec;
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return error(StatusCode::kCorrupt, yaml_path.string(), ": not valid YAML (", e.what(), ")");
  }
  if (!doc.IsMap()) return error(StatusCode::kCorrupt, yaml_path.string(), ": not a dataset yaml (expected a map)");
  DatasetSpec spec;
  spec.yaml_path = yaml_path;
  const fs::path yaml_dir = fs::absolute(yaml_path, ec).parent_path();
  try {
    spec.root = yaml_dir;
    if (doc["path"] && !doc["path"].IsNull()) {
      fs::path p(doc["path"].as<std::string>());
      spec.root = (p.is_absolute() ? p : yaml_dir / p).lexically_normal();
    }
    if (!doc["names"]) return error(StatusCode::kCorrupt, yaml_path.string(), ": no `names`");
    KILN_ASSIGN_OR_RETURN(spec.names, parse_names(doc["names"], yaml_path));
    if (const YAML::Node kpt = doc["kpt_shape"]; kpt && kpt.IsSequence() && kpt.size() == 2) {
      spec.kpt_count = kpt[0].as<int>();
      spec.kpt_dims = kpt[1].as<int>();
    }
    const YAML::Node entries = doc[split];
    if (!entries || entries.IsNull()) return error(StatusCode::kCorrupt, yaml_path.string(), ": no `", split, "` split");
    std::vector<std::string> list;
    if (entries.IsSequence())
      for (const auto& e : entries) list.push_back(e.as<std::string>());
    else
      list.push_back(entries.as<std::string>());
    for (const std::string& e : list) {
      fs::path p(e);
      KILN_RETURN_IF_ERROR(add_split_entry(p.is_absolute() ? p : (spec.root / p).lexically_normal(), spec.images));
    }
  } catch (const YAML::Exception& e) {
    return error(StatusCode::kCorrupt, yaml_path.string(), ": ", e.what());
  }
  std::sort(spec.images.begin(), spec.images.end());
  spec.images.erase(std::unique(spec.images.begin(), spec.images.end()), spec.images.end());
  if (spec.images.empty()) return error(StatusCode::kNotFound, yaml_path.string(), ": split `", split, "` has no images");
  return spec;
}

fs::path label_path_for(const fs::path& image_path) {
  std::vector<fs::path> parts(image_path.begin(), image_path.end());
  for (size_t i = parts.size(); i-- > 1;) {
    if (parts[i - 1] == "images") {
      fs::path out;
      for (size_t k = 0; k < parts.size(); ++k) out /= (k == i - 1 ? fs::path("labels") : parts[k]);
      return out.replace_extension(".txt");
    }
  }
  return fs::path(image_path).replace_extension(".txt");
}

Result<std::vector<LabelBox>> load_labels(const fs::path& image_path, const DatasetSpec& spec) {
  const fs::path path = label_path_for(image_path);
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) return std::vector<LabelBox>{};  // an image without objects
  if (st.type() != fs::file_type::regular)
    return error(StatusCode::kInvalidArgument, path.string(), ": label path is not a file");
  auto bytes = read_file(path);
  if (!bytes.ok()) return error(StatusCode::kIoError, path.string(), ": cannot read the label file");
  return parse_labels(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), path, spec);
}

Result<std::vector<LabelBox>> parse_labels(std::string_view text, const fs::path& path, const DatasetSpec& spec) {
  const size_t pose_cols = spec.kpt_count > 0 ? 5 + static_cast<size_t>(spec.kpt_count) * spec.kpt_dims : 0;
  std::vector<std::pair<std::vector<float>, std::vector<float>>> rows;  // class, cx, cy, w, h[, keypoints]; polygon
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  int line_no = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t eol = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, eol - start);
    start = eol + 1;
    ++line_no;
    std::vector<float> v;
    for (size_t i = 0; i < line.size();) {
      if (is_space(line[i])) { ++i; continue; }
      size_t j = i;
      while (j < line.size() && !is_space(line[j])) ++j;
      const std::string tok(line.substr(i, j - i));  // strtof needs the terminating NUL
      i = j;
      char* end = nullptr;
      float f = std::strtof(tok.c_str(), &end);
      if (end != tok.c_str() + tok.size() || tok.empty() || !std::isfinite(f))
        return error(StatusCode::kCorrupt, path.string(), ":", line_no, ": not a number: '", tok, "'");
      v.push_back(f);
    }
    if (v.empty()) continue;
    std::vector<float> row, polygon;
    if (pose_cols > 0 ? v.size() == pose_cols : v.size() == 5) {
      row = v;
    } else if (pose_cols == 0 && v.size() >= 7 && v.size() % 2 == 1) {
      // Polygon: its bounding box (segments2boxes).
      float x0 = v[1], x1 = v[1], y0 = v[2], y1 = v[2];
      for (size_t k = 1; k + 1 < v.size(); k += 2) {
        x0 = std::min(x0, v[k]), x1 = std::max(x1, v[k]);
        y0 = std::min(y0, v[k + 1]), y1 = std::max(y1, v[k + 1]);
      }
      row = {v[0], (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0};
      polygon.assign(v.begin() + 1, v.end());
    } else {
      return error(StatusCode::kCorrupt, path.string(), ":", line_no, ": ", v.size(), " values, expected ",
                   pose_cols > 0 ? std::to_string(pose_cols) : std::string("5 or a polygon"));
    }
    if (row[0] < 0 || row[0] != std::floor(row[0]) || row[0] >= static_cast<float>(spec.names.size()))
      return error(StatusCode::kCorrupt, path.string(), ":", line_no, ": class ", v[0], " is not one of the ",
                   spec.names.size(), " classes of ", spec.yaml_path.string());
    for (int k = 1; k < 5; ++k)
      if (row[k] > 1.01f || row[k] < -0.01f)
        return error(StatusCode::kCorrupt, path.string(), ":", line_no, ": coordinate ", row[k],
                     " is not normalized to [0, 1]");
    rows.emplace_back(std::move(row), std::move(polygon));
  }
  // np.unique(lb, axis=0) over the class and box columns: sorted, first of equal rows kept.
  auto by_row = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::stable_sort(rows.begin(), rows.end(), by_row);
  rows.erase(std::unique(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
             rows.end());
  std::vector<LabelBox> out;
  out.reserve(rows.size());
  for (auto& [r, polygon] : rows)
    out.push_back({static_cast<int>(r[0]), r[1], r[2], r[3], r[4], std::vector<float>(r.begin() + 5, r.end()),
                   std::move(polygon)});
  return out;
}

}  // namespace kiln::eval
