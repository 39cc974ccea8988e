#include "eval/coco_predictions.h"

#include <algorithm>
#include <cctype>

namespace kiln::eval {

namespace {

// The COCO 2017 classes in the order of Ultralytics' coco.yaml, and their ids among the
// 91 of the original paper (Ultralytics' coco80_to_coco91_class).
constexpr const char* kCocoNames[80] = {
    "person",        "bicycle",      "car",          "motorcycle",  "airplane",     "bus",          "train",
    "truck",         "boat",         "traffic light", "fire hydrant", "stop sign",   "parking meter", "bench",
    "bird",          "cat",          "dog",          "horse",       "sheep",        "cow",          "elephant",
    "bear",          "zebra",        "giraffe",      "backpack",    "umbrella",     "handbag",      "tie",
    "suitcase",      "frisbee",      "skis",         "snowboard",   "sports ball",  "kite",         "baseball bat",
    "baseball glove", "skateboard",  "surfboard",    "tennis racket", "bottle",     "wine glass",   "cup",
    "fork",          "knife",        "spoon",        "bowl",        "banana",       "apple",        "sandwich",
    "orange",        "broccoli",     "carrot",       "hot dog",     "pizza",        "donut",        "cake",
    "chair",         "couch",        "potted plant", "bed",         "dining table", "toilet",       "tv",
    "laptop",        "mouse",        "remote",       "keyboard",    "cell phone",   "microwave",    "oven",
    "toaster",       "sink",         "refrigerator", "book",        "clock",        "vase",         "scissors",
    "teddy bear",    "hair drier",   "toothbrush"};
constexpr int kCoco91[80] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                             22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
                             46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65,
                             67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90};

}  // namespace

std::vector<int> coco_category_ids(const std::vector<std::string>& names) {
  const bool coco = std::equal(names.begin(), names.end(), std::begin(kCocoNames), std::end(kCocoNames));
  std::vector<int> ids(names.size());
  for (size_t i = 0; i < names.size(); ++i) ids[i] = coco ? kCoco91[i] : static_cast<int>(i) + 1;
  return ids;
}

std::variant<int64_t, std::string> coco_image_id(const std::filesystem::path& image) {
  const std::string stem = image.stem().string();
  const bool numeric = !stem.empty() && stem.size() < 19 &&
                       std::all_of(stem.begin(), stem.end(), [](unsigned char c) { return std::isdigit(c); });
  if (numeric) return static_cast<int64_t>(std::stoll(stem));
  return stem;
}

std::array<float, 4> coco_bbox(const vision::BoxXyxy& b, const ValInput& in, int width, int height) {
  const float sx = static_cast<float>(in.resized_width) / static_cast<float>(width);
  const float sy = static_cast<float>(in.resized_height) / static_cast<float>(height);
  auto x = [&](float v) { return std::clamp((v - static_cast<float>(in.pad_left)) / sx, 0.f, static_cast<float>(width)); };
  auto y = [&](float v) { return std::clamp((v - static_cast<float>(in.pad_top)) / sy, 0.f, static_cast<float>(height)); };
  const float x1 = x(b[0]), y1 = y(b[1]), x2 = x(b[2]), y2 = y(b[3]);
  return {x1, y1, x2 - x1, y2 - y1};
}

}  // namespace kiln::eval
