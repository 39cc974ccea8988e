// kiln predict: run a YOLO model (detect, segment, pose, obb, classify) on images and videos
// the way Ultralytics' `yolo predict` does (same letterbox, NMS and scaling), print one line
// per image or frame, and optionally write JSON results, YOLO txt labels and annotated
// images / videos. Inference goes through the public C++ API (include/kiln/); videos are
// read and written with video/video_io (predict_video.cpp).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "option_flags.h"
#include "core/file_util.h"
#include "kiln/annotate.h"
#include "kiln/image.h"
#include "kiln/model.h"
#include "predict_format.h"
#include "predict_sources.h"
#include "predict_video.h"

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
  bool save_txt = false;
  bool save_conf = false;
  int vid_stride = 1;
  int64_t max_frames = 0;
  std::string device;
  std::string precision;
  int batch = 1;
  std::string cache_dir;
  std::string on_mismatch = "auto";
  bool strict_gpu = false;
};

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
  KILN_ASSIGN_OR_RETURN(mo.device, device_flag(o.device));
  KILN_ASSIGN_OR_RETURN(mo.precision, precision_flag(o.precision));
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

// Writes `text` to <save_dir>/labels/<name> (Ultralytics writes no file for an empty one).
Status write_labels(const PredictOptions& o, const std::string& name, const std::string& text) {
  if (text.empty()) return Status::Ok();
  return write_file_atomic(fs::path(o.save_dir) / "labels" / name, text.data(), text.size());
}

// Images in groups of the model's batch; returns the per-image JSON entries.
Result<nlohmann::json> predict_images(Model& model, const kiln::PredictOptions& po, const PredictOptions& o,
                                      const std::vector<fs::path>& sources, size_t total) {
  const ModelInfo& info = model.info();
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
      std::printf("image %zu/%zu %s: %dx%d %s%.1fms\n", first + k + 1, total, path.filename().string().c_str(),
                  p.input_height, p.input_width, summarize(p, info.names).c_str(), p.speed.inference_ms);
      std::fflush(stdout);
      nlohmann::json entry = prediction_json(p, info.names);
      entry["image"] = path.filename().string();
      results.push_back(std::move(entry));
      if (o.save_txt)
        KILN_RETURN_IF_ERROR(write_labels(o, path.stem().string() + ".txt",
                                          yolo_txt(p, info, images[k].width, images[k].height, o.save_conf)));
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
  return results;
}

Status predict(const PredictOptions& o) {
  if (o.conf < 0 || o.conf > 1) return error(StatusCode::kInvalidArgument, "--conf must be in [0, 1], got ", o.conf);
  if (o.iou < 0 || o.iou > 1) return error(StatusCode::kInvalidArgument, "--iou must be in [0, 1], got ", o.iou);
  if (o.imgsz < 1) return error(StatusCode::kInvalidArgument, "--imgsz must be positive, got ", o.imgsz);
  if (o.batch < 1) return error(StatusCode::kInvalidArgument, "--batch must be at least 1, got ", o.batch);
  if (o.vid_stride < 1) return error(StatusCode::kInvalidArgument, "--vid-stride must be at least 1, got ", o.vid_stride);
  if (o.max_frames < 0) return error(StatusCode::kInvalidArgument, "--max-frames must not be negative, got ", o.max_frames);
  if ((o.save_txt || o.save_conf) && o.save_dir.empty())
    return error(StatusCode::kInvalidArgument, "--save-txt and --save-conf write into --save DIR/labels: give --save DIR");
  if (!fs::exists(o.model)) return error(StatusCode::kNotFound, o.model, ": no such file");
  KILN_ASSIGN_OR_RETURN(PredictSources sources, list_predict_sources(o.source));
  KILN_ASSIGN_OR_RETURN(Model model, load(o));
  const ModelInfo& info = model.info();
  if (info.task.empty())
    return error(StatusCode::kUnsupported, o.model,
                 ": no YOLO task in the model's metadata (predict needs detect, segment, pose, obb or classify)");
  if (!info.note.empty()) std::cerr << "kiln predict: note: " << info.note << "\n";
  if (o.batch > 1 && (info.dynamic_input || info.batch < o.batch))
    std::cerr << "kiln predict: note: " << o.model << " runs one image per inference (per-image input size); --batch "
              << o.batch << " only groups the calls\n";

  kiln::PredictOptions po;
  po.conf = o.conf;
  po.iou = o.iou;
  po.max_det = o.max_det;
  po.classes = o.classes;
  if (!o.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(fs::path(o.save_dir) / (o.save_txt ? "labels" : ""), ec);
    if (ec) return error(StatusCode::kIoError, o.save_dir, ": cannot create: ", ec.message());
  }

  nlohmann::json results = nlohmann::json::array();
  if (!sources.images.empty()) {
    KILN_ASSIGN_OR_RETURN(results, predict_images(model, po, o, sources.images, sources.images.size()));
  }
  for (size_t i = 0; i < sources.videos.size(); ++i) {
    VideoJob job;
    job.path = sources.videos[i];
    job.index = i + 1;
    job.total = sources.videos.size();
    job.save_dir = o.save_dir;
    job.save_txt = o.save_txt;
    job.save_conf = o.save_conf;
    job.vid_stride = o.vid_stride;
    job.max_frames = o.max_frames;
    KILN_ASSIGN_OR_RETURN(nlohmann::json video, predict_video(model, po, job));
    results.push_back(std::move(video));
  }
  if (!o.json_out.empty()) {
    const std::string text = results.dump(1);
    KILN_RETURN_IF_ERROR(write_file_atomic(o.json_out, text.data(), text.size()));
  }
  if (!o.save_dir.empty()) std::printf("Results saved to %s\n", o.save_dir.c_str());
  return Status::Ok();
}

}  // namespace

Runner register_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Run a YOLO model (any task) on images and videos");
  cmd->add_option("--model", o->model, "ONNX model (Ultralytics export) or .kiln engine")->required();
  cmd->add_option("--source", o->source, "image, video, directory or quoted glob (\"dir/*.jpg\")")->required();
  cmd->add_option("--conf", o->conf, "confidence threshold")->capture_default_str();
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->capture_default_str();
  o->imgsz_flag = cmd->add_option("--imgsz", o->imgsz, "input size (default: the model's own)");
  cmd->add_option("--max-det", o->max_det, "maximum detections per image")->capture_default_str();
  cmd->add_option("--classes", o->classes, "keep only these class ids (comma-separated)")->delimiter(',');
  cmd->add_option("--json", o->json_out, "write results as JSON to this file");
  cmd->add_option("--save", o->save_dir, "write annotated images (.jpg) and videos (.mp4) into this directory");
  cmd->add_flag("--save-txt", o->save_txt, "write Ultralytics YOLO txt labels into <save>/labels/");
  cmd->add_flag("--save-conf", o->save_conf, "append each detection's confidence to its label line");
  cmd->add_option("--vid-stride", o->vid_stride, "predict every N-th video frame")->capture_default_str();
  cmd->add_option("--max-frames", o->max_frames, "stop each video after N predicted frames (0: all)")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu | cuda | cuda:N (default: cpu; a .kiln runs where it was built)");
  cmd->add_option("--precision", o->precision, "fp32 | fp16 | tf32 (fp16 and tf32 need a GPU)");
  cmd->add_option("--batch", o->batch, "images or frames per inference (static-size engines)")->capture_default_str();
  cmd->add_option("--cache-dir", o->cache_dir, "engine cache folder (default: $KILN_CACHE_DIR or ~/.cache/kiln)");
  add_on_mismatch_option(*cmd, o->on_mismatch);
  cmd->add_flag("--strict-gpu", o->strict_gpu, "fail instead of falling back to the CPU when no GPU is usable");
  return [o]() {
    Status st = predict(*o);
    return st.ok() ? kExitOk : report_error("predict", st);
  };
}

}  // namespace kiln::cli
