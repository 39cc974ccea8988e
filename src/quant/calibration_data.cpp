#include "quant/calibration_data.h"

#include <algorithm>

#include "core/file_util.h"
#include "core/npy.h"
#include "eval/dataset.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"

namespace kiln::quant {

namespace fs = std::filesystem;

namespace {

bool is_npy(const fs::path& p) { return p.extension() == ".npy"; }
bool is_calibration_file(const fs::path& p) { return vision::has_image_extension(p) || is_npy(p); }

bool is_dataset_yaml(const fs::path& p) { return p.extension() == ".yaml" || p.extension() == ".yml"; }

// A dataset YAML's train split, else its val split.
Result<std::vector<fs::path>> dataset_images(const fs::path& yaml) {
  Status first = Status::Ok();
  for (const char* split : {"train", "val"}) {
    auto spec = eval::load_dataset(yaml, split);
    if (spec.ok() && !spec->images.empty()) return spec->images;
    if (!spec.ok() && first.ok()) first = spec.status();
  }
  if (!first.ok() && first.code() != StatusCode::kNotFound && first.code() != StatusCode::kInvalidArgument)
    return first;
  return error(StatusCode::kNotFound, yaml.string(), ": no images in the dataset's train or val split");
}

Result<std::vector<fs::path>> folder_files(const fs::path& folder) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (std::error_code type_ec; it->is_regular_file(type_ec) && is_calibration_file(it->path())) out.push_back(it->path());
  if (ec) return error(StatusCode::kIoError, folder.string(), ": cannot list: ", ec.message());
  return out;
}

Result<ir::Tensor> npy_input(const fs::path& file, int64_t height, int64_t width) {
  KILN_ASSIGN_OR_RETURN(NpyArray a, read_npy(file));
  const std::vector<int64_t> want{1, 3, height, width};
  std::vector<int64_t> shape = a.shape;
  if (shape.size() == 3) shape.insert(shape.begin(), 1);
  if (shape != want)
    return error(StatusCode::kInvalidArgument, file.string(), ": tensor of shape ", ir::shape_to_string(a.shape),
                 ", expected ", ir::shape_to_string(want), " (the engine's input)");
  return ir::Tensor::from_vector<float>(want, a.data);
}

}  // namespace

Result<std::vector<fs::path>> calibration_files(const std::string& data, int64_t count) {
  if (count < 1) return error(StatusCode::kInvalidArgument, "calibration images ", count, ": expected at least 1");
  std::error_code ec;
  std::vector<fs::path> files;
  const bool pattern = data.find_first_of("*?[") != std::string::npos && !fs::exists(data, ec);
  if (pattern) {
    KILN_ASSIGN_OR_RETURN(std::vector<fs::path> matches, expand_glob(data));
    for (fs::path& m : matches)
      if (is_calibration_file(m)) files.push_back(std::move(m));
    if (files.empty()) return error(StatusCode::kNotFound, data, ": no images match (jpg, jpeg, png, bmp, npy)");
  } else if (fs::is_directory(data, ec)) {
    KILN_ASSIGN_OR_RETURN(files, folder_files(data));
    if (files.empty()) return error(StatusCode::kNotFound, data, ": no images (jpg, jpeg, png, bmp, npy) in the folder");
  } else if (!fs::exists(data, ec)) {
    return error(StatusCode::kNotFound, data, ": no such file or directory");
  } else if (is_dataset_yaml(data)) {
    KILN_ASSIGN_OR_RETURN(files, dataset_images(data));
  } else {
    return error(StatusCode::kInvalidArgument, data, ": expected a folder of images, a glob or a dataset YAML");
  }
  std::sort(files.begin(), files.end());
  if (static_cast<int64_t>(files.size()) > count) files.resize(static_cast<size_t>(count));
  return files;
}

Result<ir::Tensor> calibration_input(const fs::path& file, int64_t height, int64_t width) {
  if (is_npy(file)) return npy_input(file, height, width);
  KILN_ASSIGN_OR_RETURN(vision::Image image, vision::decode_image(file));
  const vision::Letterboxed boxed = vision::letterbox(image, static_cast<int>(height), static_cast<int>(width));
  std::vector<float> chw = vision::to_nchw_rgb(boxed.image);
  return ir::Tensor::from_vector<float>({1, 3, height, width}, chw);
}

}  // namespace kiln::quant
