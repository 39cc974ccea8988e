// kiln predict: run a YOLO model (detect, segment, pose, obb, classify) on images the way
// Ultralytics' `yolo predict` does (same letterbox, NMS and scaling), print one line per
// image, and optionally write JSON results and annotated images. Uses only the public C++
// API (include/kiln/).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "kiln/annotate.h"
#include "kiln/image.h"
#include "kiln/model.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

struct PredictOptions {
  std::string model;
  std::string source;
  float conf = 0.25f;
  double iou = 0.7;
  int imgsz = 640;
  const CLI::Option* imgsz_flag = nullptr;  // set: --imgsz was given
  int max_det = 300;
  std::vector<int> classes;
  std::string json_out;
  std::string save_dir;
  std::string device;
  std::string precision;
  int batch = 1;
  std::string cache_dir;
  std::string on_mismatch = "auto";
  bool strict_gpu = false;
};

// A source file, or a directory's image files sorted by name (other files skipped).
Result<std::vector<fs::path>> list_sources(const fs::path& source) {
  std::error_code ec;
  if (!fs::exists(source, ec)) return error(StatusCode::kNotFound, source.string(), ": no such file or directory");
  if (!fs::is_directory(source, ec)) return std::vector<fs::path>{source};
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(source, ec))
    if (entry.is_regular_file() && is_image_file(entry.path())) images.push_back(entry.path());
  if (ec) return error(StatusCode::kIoError, source.string(), ": cannot list: ", ec.message());
  if (images.empty()) return error(StatusCode::kNotFound, source.string(), ": no images (jpg, jpeg, png, bmp) in directory");
  std::sort(images.begin(), images.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return images;
}

std::string class_name(int id, const std::vector<std::string>& names) {
  return id >= 0 && id < static_cast<int>(names.size()) ? names[id] : std::to_string(id);
}

// "4 persons, 1 bus, " in class-id order, like Ultralytics' verbose line; classify lists
// its top-5 ("tabby 0.61, tiger cat 0.20, ").
std::string summarize(const Prediction& p, const std::vector<std::string>& names) {
  std::ostringstream os;
  if (!p.top5.empty()) {
    os.precision(2);
    for (const ClassScore& c : p.top5) os << class_name(c.class_id, names) << " " << std::fixed << c.score << ", ";
    return os.str();
  }
  std::map<int, int> counts;
  for (const auto& d : p.boxes) ++counts[d.class_id];
  for (const auto& r : p.obb) ++counts[r.class_id];
  if (counts.empty()) return "(no detections), ";
  for (auto [cls, n] : counts) os << n << " " << class_name(cls, names) << (n > 1 ? "s" : "") << ", ";
  return os.str();
}

// {"image": name, "detections": [{"class_id", "class_name", "confidence", "box_xyxy",
//  segment: "mask_area" (pixels at the original image size), pose: "keypoints_xyc"}]};
// obb detections carry "box_xywhr" instead of "box_xyxy"; classify adds "top5".
nlohmann::json image_json(const std::string& image, const Prediction& p, const std::vector<std::string>& names) {
  nlohmann::json dets = nlohmann::json::array();
  for (size_t i = 0; i < p.boxes.size(); ++i) {
    const Detection& d = p.boxes[i];
    nlohmann::json det = {{"class_id", d.class_id},
                          {"class_name", class_name(d.class_id, names)},
                          {"confidence", d.confidence},
                          {"box_xyxy", {d.box.x1, d.box.y1, d.box.x2, d.box.y2}}};
    if (i < p.masks.size())
      det["mask_area"] = std::count(p.masks[i].data.begin(), p.masks[i].data.end(), uint8_t{1});
    if (i < p.keypoints.size()) {
      nlohmann::json kpts = nlohmann::json::array();
      for (const Keypoint& k : p.keypoints[i].points) kpts.push_back({k.x, k.y, k.confidence});
      det["keypoints_xyc"] = kpts;
    }
    dets.push_back(det);
  }
  for (const RotatedBox& r : p.obb)
    dets.push_back({{"class_id", r.class_id},
                    {"class_name", class_name(r.class_id, names)},
                    {"confidence", r.confidence},
                    {"box_xywhr", {r.cx, r.cy, r.w, r.h, r.angle}}});
  nlohmann::json out = {{"image", image}, {"detections", dets}};
  if (!p.top5.empty()) {
    nlohmann::json top = nlohmann::json::array();
    for (const ClassScore& c : p.top5)
      top.push_back({{"class_id", c.class_id}, {"class_name", class_name(c.class_id, names)}, {"confidence", c.score}});
    out["top5"] = top;
  }
  return out;
}

// --on-mismatch prompt: asks on a terminal; without one the engine is not rebuilt.
bool ask_to_rebuild(const std::string& model, const std::string& reasons) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) return false;
  std::cerr << model << " needs a rebuild (" << reasons << "). Rebuild? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

Result<Model> load(const PredictOptions& o) {
  ModelOptions mo;
  mo.device = o.device;
  mo.precision = o.precision;
  mo.batch = o.batch;
  mo.imgsz = o.imgsz_flag && o.imgsz_flag->count() ? o.imgsz : 0;
  mo.cache_dir = o.cache_dir;
  mo.on_mismatch = o.on_mismatch == "fail"     ? MismatchPolicy::kFail
                   : o.on_mismatch == "prompt" ? MismatchPolicy::kPrompt
                                               : MismatchPolicy::kAuto;
  mo.confirm_rebuild = [model = o.model](const std::string& reasons) { return ask_to_rebuild(model, reasons); };
  mo.strict_gpu = o.strict_gpu;
  mo.progress = terminal_progress("predict");
  return Model::load(o.model, mo);
}

Status predict(const PredictOptions& o) {
  if (o.conf < 0 || o.conf > 1) return error(StatusCode::kInvalidArgument, "--conf must be in [0, 1], got ", o.conf);
  if (o.iou < 0 || o.iou > 1) return error(StatusCode::kInvalidArgument, "--iou must be in [0, 1], got ", o.iou);
  if (o.imgsz < 1) return error(StatusCode::kInvalidArgument, "--imgsz must be positive, got ", o.imgsz);
  if (o.batch < 1) return error(StatusCode::kInvalidArgument, "--batch must be at least 1, got ", o.batch);
  if (!fs::exists(o.model)) return error(StatusCode::kNotFound, o.model, ": no such file");
  KILN_ASSIGN_OR_RETURN(std::vector<fs::path> sources, list_sources(o.source));
  KILN_ASSIGN_OR_RETURN(Model model, load(o));
  const ModelInfo& info = model.info();
  if (info.task.empty())
    return error(StatusCode::kUnsupported, o.model,
                 ": no YOLO task in the model's metadata (predict needs detect, segment, pose, obb or classify)");
  if (!info.note.empty()) std::cerr << "kiln predict: note: " << info.note << "\n";

  kiln::PredictOptions po;
  po.conf = o.conf;
  po.iou = o.iou;
  po.max_det = o.max_det;
  po.classes = o.classes;
  if (!o.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.save_dir, ec);
    if (ec) return error(StatusCode::kIoError, o.save_dir, ": cannot create: ", ec.message());
  }

  const size_t batch = info.dynamic_input ? 1 : static_cast<size_t>(info.batch);
  nlohmann::json results = nlohmann::json::array();
  double t_pre = 0, t_inf = 0, t_post = 0;
  int last_h = info.imgsz_h, last_w = info.imgsz_w;  // Ultralytics reports the last shape
  for (size_t first = 0; first < sources.size(); first += batch) {
    const size_t n = std::min(batch, sources.size() - first);
    std::vector<Image> images;
    for (size_t i = first; i < first + n; ++i) {
      KILN_ASSIGN_OR_RETURN(Image image, load_image(sources[i]));
      images.push_back(std::move(image));
    }
    KILN_ASSIGN_OR_RETURN(std::vector<Prediction> preds, model.predict(images, po));
    for (size_t k = 0; k < n; ++k) {
      const fs::path& path = sources[first + k];
      const Prediction& p = preds[k];
      last_h = p.input_height, last_w = p.input_width;
      t_pre += p.speed.preprocess_ms, t_inf += p.speed.inference_ms, t_post += p.speed.postprocess_ms;
      std::printf("image %zu/%zu %s: %dx%d %s%.1fms\n", first + k + 1, sources.size(), path.filename().string().c_str(),
                  p.input_height, p.input_width, summarize(p, info.names).c_str(), p.speed.inference_ms);
      std::fflush(stdout);
      results.push_back(image_json(path.filename().string(), p, info.names));
      if (!o.save_dir.empty()) {
        draw_prediction(images[k], p, info.names);
        fs::path out_path = fs::path(o.save_dir) / path.filename().replace_extension(".jpg");
        KILN_RETURN_IF_ERROR(save_jpeg(out_path, images[k]));
      }
    }
  }
  const double count = static_cast<double>(sources.size());
  std::printf("Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image at shape (%zu, 3, %d, %d)\n",
              t_pre / count, t_inf / count, t_post / count, batch, last_h, last_w);
  if (!o.json_out.empty()) {
    // Written through a temp file and renamed: a failed run leaves no half-written JSON.
    std::string tmp = o.json_out + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary);
      f << results.dump(1);
      if (!f.flush()) return error(StatusCode::kIoError, o.json_out, ": cannot write");
    }
    std::error_code ec;
    fs::rename(tmp, o.json_out, ec);
    if (ec) return error(StatusCode::kIoError, o.json_out, ": cannot write: ", ec.message());
  }
  if (!o.save_dir.empty()) std::printf("Results saved to %s\n", o.save_dir.c_str());
  return Status::Ok();
}

}  // namespace

Runner register_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Run a YOLO model (any task) on images");
  cmd->add_option("--model", o->model, "ONNX model (Ultralytics export) or .kiln engine")->required();
  cmd->add_option("--source", o->source, "image file or directory of images")->required();
  cmd->add_option("--conf", o->conf, "confidence threshold")->capture_default_str();
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->capture_default_str();
  o->imgsz_flag = cmd->add_option("--imgsz", o->imgsz, "input size (default: the model's own)");
  cmd->add_option("--max-det", o->max_det, "maximum detections per image")->capture_default_str();
  cmd->add_option("--classes", o->classes, "keep only these class ids (comma-separated)")->delimiter(',');
  cmd->add_option("--json", o->json_out, "write results as JSON to this file");
  cmd->add_option("--save", o->save_dir, "write annotated images into this directory");
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N (default: cpu; a .kiln runs where it was built)");
  cmd->add_option("--precision", o->precision, "fp32 | fp16 (fp16 needs a GPU)")->check(CLI::IsMember({"fp32", "fp16"}));
  cmd->add_option("--batch", o->batch, "images per inference")->capture_default_str();
  cmd->add_option("--cache-dir", o->cache_dir, "engine cache folder (default: $KILN_CACHE_DIR or ~/.cache/kiln)");
  add_on_mismatch_option(*cmd, o->on_mismatch);
  cmd->add_flag("--strict-gpu", o->strict_gpu, "fail instead of falling back to the CPU when no GPU is usable");
  return [o]() {
    Status st = predict(*o);
    return st.ok() ? kExitOk : report_error("predict", st);
  };
}

}  // namespace kiln::cli
