// kiln predict: run a YOLO model (detect, segment, pose, obb, classify) on images and videos
// the way Ultralytics' `yolo predict` does (same letterbox, NMS and scaling), print one line
// per image or frame, and optionally write JSON results, YOLO txt labels and annotated
// images / videos. Inference goes through the public C++ API (include/kiln/); videos are
// read and written with video/video_io (predict_video.cpp). A source that fails (an
// unreadable image, a broken video) is listed and skipped: the others are predicted and
// written, and the command exits 2 at the end.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/prediction_json.h"
#include "cli_output.h"
#include "commands.h"
#include "option_flags.h"
#include "core/file_util.h"
#include "core/ordered_prefetch.h"
#include "interrupt.h"
#include "kiln/annotate.h"
#include "kiln/image.h"
#include "kiln/model.h"
#include "model_args.h"
#include "predict_format.h"
#include "predict_video.h"
#include "results_stream.h"
#include "save_crops.h"
#include "video/input_sources.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

struct PredictArgs {
  ModelArgs model;
  std::string source;
  float conf = 0.25f;
  double iou = 0.7;
  int max_det = 300;
  std::vector<int> classes;
  bool agnostic_nms = false;
  std::string json_out;  // a file, or "-" for stdout
  api::MaskFormat masks = api::MaskFormat::kPolygon;
  std::string save_dir;
  bool save = false;     // --save given (with or without a folder)
  bool save_txt = false;
  bool save_conf = false;
  bool save_crop = false;
  DrawStyle style;
  int vid_stride = 1;
  int64_t max_frames = 0;
  video::LiveOptions live;
  Verbosity verbosity = Verbosity::kNormal;
};

// Ultralytics' increment_path: runs/predict, then runs/predict2, runs/predict3, ...
fs::path next_run_dir() {
  const fs::path base = fs::path("runs") / "predict";
  std::error_code ec;
  if (!fs::exists(base, ec)) return base;
  for (int n = 2;; ++n) {
    fs::path p = base;
    p += std::to_string(n);
    if (!fs::exists(p, ec)) return p;
  }
}

// Writes `text` to <save_dir>/labels/<name> (Ultralytics writes no file for an empty one).
Status write_labels(const PredictArgs& o, const std::string& name, const std::string& text) {
  if (text.empty()) return Status::Ok();
  return write_file_atomic(fs::path(o.save_dir) / "labels" / name, text.data(), text.size());
}

// Where the per-item lines go: stdout, or stderr when stdout carries the JSON; nowhere
// under --quiet.
FILE* line_stream(const PredictArgs& o) {
  if (o.verbosity == Verbosity::kQuiet) return nullptr;
  return o.json_out == "-" ? stderr : stdout;
}

struct Failure {
  std::string source, message;
};

// Images in groups of the model's batch, each image's JSON entry added to `results` as it
// is predicted; an image that cannot be read or predicted is listed in `failures` and the
// rest go on. The first Ctrl-C stops it after the batch in hand, the results so far kept
// (interrupt.h). Errors: only those of writing the results.
Status predict_images(Model& model, const kiln::PredictOptions& po, const PredictArgs& o,
                      const std::vector<fs::path>& sources, bool several, Messages& messages,
                      std::vector<Failure>& failures, ResultsStream& results) {
  const ModelInfo& info = model.info();
  const size_t batch = info.dynamic_input ? 1 : static_cast<size_t>(info.batch);
  FILE* lines = line_stream(o);
  const bool bar = lines != stdout || !::isatty(STDOUT_FILENO);  // on a terminal the lines are the progress
  Progress progress(messages, bar ? sources.size() : 0, "images");
  double t_pre = 0, t_inf = 0, t_post = 0;
  size_t predicted = 0;
  int last_h = info.imgsz_h, last_w = info.imgsz_w;  // Ultralytics reports the last shape
  auto fail = [&](const fs::path& path, const Status& st) {
    failures.push_back({path.string(), st.message()});
    if (o.verbosity != Verbosity::kQuiet && several) std::cerr << "kiln predict: error: " << st.message() << " (skipped)" << std::endl;
    return results.add({{"image", path.filename().string()}, {"error", st.message()}});
  };
  // Images are decoded on the other cores, a few batches ahead of inference.
  const size_t threads = core::prefetch_threads(!model.info().device.is_cuda());
  core::OrderedPrefetch<Result<Image>> decoded(sources.size(), threads, 2 * threads + batch,
                                               [&](size_t i) { return load_image(sources[i]); });
  stop_on_interrupt();
  size_t next = 0;
  while (next < sources.size() && !interrupt_flag().load()) {
    std::vector<Image> images;
    std::vector<size_t> index;
    while (images.size() < batch && next < sources.size()) {
      Result<Image> image = std::move(*decoded.next());
      if (image.ok()) {
        images.push_back(std::move(image).value());
        index.push_back(next);
      } else {
        KILN_RETURN_IF_ERROR(fail(sources[next], image.status()));
      }
      ++next;
    }
    if (images.empty()) continue;
    Result<std::vector<Prediction>> preds = model.predict(images, po);
    for (size_t k = 0; k < images.size(); ++k) {
      const fs::path& path = sources[index[k]];
      if (!preds.ok()) {
        KILN_RETURN_IF_ERROR(fail(path, preds.status()));
        continue;
      }
      const Prediction& p = (*preds)[k];
      ++predicted;
      last_h = p.input_height, last_w = p.input_width;
      t_pre += p.speed.preprocess_ms, t_inf += p.speed.inference_ms, t_post += p.speed.postprocess_ms;
      if (lines) {
        std::fprintf(lines, "image %zu/%zu %s: %dx%d %s%.1fms\n", index[k] + 1, sources.size(),
                     path.filename().string().c_str(), p.input_height, p.input_width, summarize(p, info.names).c_str(),
                     p.speed.inference_ms);
        std::fflush(lines);
      }
      messages.detail(path.filename().string() + ": " + stage_times(p.speed));
      nlohmann::json entry = api::prediction_json(p, info.names, o.masks);
      entry["image"] = path.filename().string();
      Status written = Status::Ok();
      if (o.save_txt)
        written = write_labels(o, path.stem().string() + ".txt",
                               yolo_txt(p, info, images[k].width, images[k].height, o.save_conf));
      if (written.ok() && o.save_crop)
        written = save_crops(images[k], p, info.names, fs::path(o.save_dir) / "crops", path.stem().string());
      if (written.ok() && !o.save_dir.empty()) {
        draw_prediction(images[k], p, info.names, o.style);
        written = save_jpeg(fs::path(o.save_dir) / path.filename().replace_extension(".jpg"), images[k]);
      }
      if (!written.ok()) entry["error"] = written.message(), failures.push_back({path.string(), written.message()});
      KILN_RETURN_IF_ERROR(results.add(entry));
    }
    progress.update(next);
  }
  if (next < sources.size())
    messages.event("note", "stopped by Ctrl-C after " + std::to_string(next) + " of " + std::to_string(sources.size()) +
                               " images; what was done is written");
  if (lines && predicted > 0) {
    const double count = static_cast<double>(predicted);
    std::fprintf(lines,
                 "Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image at shape (%zu, 3, %d, %d)\n",
                 t_pre / count, t_inf / count, t_post / count, batch, last_h, last_w);
  }
  return Status::Ok();
}

Status check_args(const PredictArgs& o) {
  if (o.conf < 0 || o.conf > 1) return error(StatusCode::kInvalidArgument, "--conf must be in [0, 1], got ", o.conf);
  if (o.iou < 0 || o.iou > 1) return error(StatusCode::kInvalidArgument, "--iou must be in [0, 1], got ", o.iou);
  if (o.model.imgsz < 0) return error(StatusCode::kInvalidArgument, "--imgsz must be positive, got ", o.model.imgsz);
  if (o.model.batch < 1) return error(StatusCode::kInvalidArgument, "--batch must be at least 1, got ", o.model.batch);
  if (o.max_det < 1) return error(StatusCode::kInvalidArgument, "--max-det must be at least 1, got ", o.max_det);
  if (o.vid_stride < 1) return error(StatusCode::kInvalidArgument, "--vid-stride must be at least 1, got ", o.vid_stride);
  if (o.max_frames < 0) return error(StatusCode::kInvalidArgument, "--max-frames must not be negative, got ", o.max_frames);
  if (o.style.line_width < 0)
    return error(StatusCode::kInvalidArgument, "--line-width must not be negative, got ", o.style.line_width);
  if ((o.save_txt || o.save_conf) && !o.save)
    return error(StatusCode::kInvalidArgument, "--save-txt and --save-conf write into <save>/labels: add --save [DIR]");
  if (o.save_crop && !o.save) return error(StatusCode::kInvalidArgument, "--save-crop writes into <save>/crops: add --save [DIR]");
  const bool draws = o.style.line_width > 0 || !o.style.labels || !o.style.confidence;
  if (draws && !o.save)
    return error(StatusCode::kInvalidArgument, "--line-width, --hide-labels and --hide-conf style the saved images: add --save [DIR]");
  return Status::Ok();
}

// --classes names ids the model has; a classifier has no boxes to filter.
Status check_classes(const PredictArgs& o, const ModelInfo& info) {
  if (o.classes.empty()) return Status::Ok();
  if (info.task == "classify")
    return error(StatusCode::kInvalidArgument, "--classes filters detections; ", o.model.model,
                 " is a classifier (its top-5 is not filtered)");
  for (int id : o.classes)
    if (id < 0 || (!info.names.empty() && id >= static_cast<int>(info.names.size())))
      return error(StatusCode::kInvalidArgument, "--classes ", id, ": ", o.model.model, " has classes 0..",
                   info.names.size() - 1);
  return Status::Ok();
}

// --masks TEXT -> MaskFormat, refusing a word not in mask_format_names() with the list.
CLI::Validator mask_format_flag() {
  std::string names;
  for (const auto& [name, format] : api::mask_format_names()) names += (names.empty() ? "" : ", ") + name;
  return CLI::Validator(
      [names](std::string& text) -> std::string {
        auto it = api::mask_format_names().find(text);
        if (it == api::mask_format_names().end()) return "'" + text + "' is not one of " + names;
        text = std::to_string(static_cast<int>(it->second));
        return "";
      },
      "polygon|rle|both");
}

// Returns the exit code: 0, or 2 after an error or when some sources failed.
int predict(PredictArgs o) {
  Messages messages("predict", o.verbosity);
  if (Status st = check_args(o); !st.ok()) return report_error("predict", st);
  if (Status st = check_output_flags({&o.json_out}); !st.ok()) return report_error("predict", st);
  Result<video::InputSources> sources = video::list_input_sources(o.source);
  if (!sources.ok()) return report_error("predict", sources.status());
  Result<LoadedModel> loaded = load_model(o.model, messages);
  if (!loaded.ok()) return report_error("predict", loaded.status());
  Model& model = loaded->model;
  const ModelInfo& info = model.info();
  if (info.task.empty())
    return report_error("predict", error(StatusCode::kUnsupported, o.model.model,
                                         ": no YOLO task in the model's metadata or file name; give --task "
                                         "(detect, segment, pose, obb or classify), or use kiln run for raw outputs"));
  if (Status st = check_classes(o, info); !st.ok()) return report_error("predict", st);
  if (o.model.batch > 1 && (info.dynamic_input || info.batch < o.model.batch))
    messages.event("note", o.model.model + " runs one image per inference (per-image input size); --batch " +
                               std::to_string(o.model.batch) + " only groups the calls");

  kiln::PredictOptions po;
  po.conf = o.conf;
  po.iou = o.iou;
  po.max_det = o.max_det;
  po.classes = o.classes;
  po.agnostic_nms = o.agnostic_nms;
  if (o.save && o.save_dir.empty()) o.save_dir = next_run_dir().string();
  if (!o.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(fs::path(o.save_dir) / (o.save_txt ? "labels" : ""), ec);
    if (ec) return report_error("predict", error(StatusCode::kIoError, o.save_dir, ": cannot create: ", ec.message()));
  }

  std::vector<Failure> failures;
  const bool several = sources->images.size() + sources->videos.size() > 1;  // else the final error line says it
  nlohmann::json header = loaded->json;
  header.erase("events");  // in the trailer, with those of the run
  Result<ResultsStream> results = ResultsStream::open(o.json_out, header);
  if (!results.ok()) return report_error("predict", results.status());
  if (Status st = predict_images(model, po, o, sources->images, several, messages, failures, *results); !st.ok())
    return report_error("predict", st);
  std::vector<VideoOutcome> videos = run_videos(sources->videos.size(), sources->together, [&](size_t i) {
    VideoJob job;
    job.source = sources->videos[i];
    job.live = o.live;
    job.index = i + 1;
    job.total = sources->videos.size();
    job.save_dir = o.save_dir;
    job.save_txt = o.save_txt;
    job.save_conf = o.save_conf;
    job.save_crop = o.save_crop;
    job.style = o.style;
    job.masks = o.masks;
    job.vid_stride = o.vid_stride;
    job.max_frames = o.max_frames;
    job.lines = line_stream(o);
    job.strict_gpu = o.model.strict_gpu;
    job.frame_json = o.json_out.empty() ? FrameJson::kDrop : FrameJson::kSpool;
    return predict_video(model, po, job, messages);
  });
  for (size_t i = 0; i < videos.size(); ++i) {
    VideoOutcome& video = videos[i];
    if (!video.status.ok()) {
      failures.push_back({sources->videos[i].locator, video.status.message()});
      video.json["error"] = video.status.message();
      if (o.verbosity != Verbosity::kQuiet && several)
        std::cerr << "kiln predict: error: " << video.status.message() << " (frames before it kept)" << std::endl;
    }
    Status written = video.frames ? results->add(video.json, "frames", *video.frames) : results->add(video.json);
    if (!written.ok()) return report_error("predict", written);
  }
  nlohmann::json trailer = {{"events", messages.events()}, {"failures", nlohmann::json::array()}};
  for (const Failure& f : failures) trailer["failures"].push_back({{"source", f.source}, {"error", f.message}});
  if (Status st = results->finish(trailer); !st.ok()) return report_error("predict", st);
  if (!o.save_dir.empty() && line_stream(o)) std::fprintf(line_stream(o), "Results saved to %s\n", o.save_dir.c_str());
  if (failures.empty()) return kExitOk;
  const size_t total = sources->images.size() + sources->videos.size();
  if (failures.size() == 1)
    return report_error("predict", error(StatusCode::kInvalidArgument, failures[0].message,
                                         total > 1 ? " (1 of " + std::to_string(total) + " sources failed; the others were predicted)" : ""));
  std::string list;
  for (const Failure& f : failures) list += (list.empty() ? "" : ", ") + fs::path(f.source).filename().string();
  return report_error("predict", error(StatusCode::kInvalidArgument, failures.size(), " of ", total,
                                       " sources failed (", list, "); the others were predicted"));
}

}  // namespace

Runner register_predict(CLI::App& app) {
  auto o = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Run a YOLO model (any task) on images and videos");
  add_model_args(*cmd, o->model, "ONNX model (Ultralytics export), .kiln engine, or a model name from kiln.yaml");
  cmd->add_option("--source", o->source,
                  "image, video, directory, quoted glob (\"dir/*.jpg\"), URL (rtsp://, http://, ...), camera (0, "
                  "/dev/video0) or a .streams / .txt list of these")
      ->required();
  cmd->add_option("--conf", o->conf, "confidence threshold")->capture_default_str();
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->capture_default_str();
  cmd->add_option("--imgsz", o->model.imgsz, "input size (default: the model's own; a static engine takes only its own)");
  cmd->add_option("--max-det", o->max_det, "maximum detections per image")->capture_default_str();
  cmd->add_option("--classes", o->classes, "keep only these class ids (comma-separated)")->delimiter(',');
  cmd->add_flag("--agnostic-nms", o->agnostic_nms, "one NMS across all classes");
  cmd->add_option("--json", o->json_out, "write results as JSON to this file (- : stdout; the lines go to stderr)");
  cmd->add_option("--masks", o->masks,
                   "segment masks in the JSON: polygon (outlines in image pixels), rle (COCO compressed RLE at the "
                   "image size) or both")
      ->transform(mask_format_flag())
      ->default_str("polygon");
  cmd->add_option("--save", o->save_dir,
                  "write annotated images (.jpg) and videos (.mp4; a stream without a frame rate at 30 fps) into DIR "
                  "(default: runs/predict, runs/predict2, ...)")
      ->expected(0, 1);
  cmd->add_flag("--save-txt", o->save_txt, "write Ultralytics YOLO txt labels into <save>/labels/");
  cmd->add_flag("--save-conf", o->save_conf, "append each detection's confidence to its label line");
  cmd->add_flag("--save-crop", o->save_crop, "write each object's crop into <save>/crops/<class>/ (as Ultralytics' save_crop)");
  cmd->add_option("--line-width", o->style.line_width, "box line width in pixels for --save (default: from the image size)");
  cmd->add_flag("!--hide-labels", o->style.labels, "draw boxes without class names (--save)");
  cmd->add_flag("!--hide-conf", o->style.confidence, "draw labels without confidences (--save)");
  cmd->add_option("--vid-stride", o->vid_stride, "predict every N-th video frame (the saved video keeps real time)")
      ->capture_default_str();
  cmd->add_option("--max-frames", o->max_frames, "stop each video or stream after N predicted frames (0: all)")
      ->capture_default_str();
  add_live_flags(*cmd, o->live);
  cmd->add_option("--precision", o->model.precision, "fp32 | fp16 | tf32 | int8 (fp16 and tf32 need a GPU)");
  add_int8_flags(*cmd, o->model.int8);
  cmd->add_option("--batch", o->model.batch, "images or frames per inference (static-size engines)")->capture_default_str();
  add_verbosity_flags(*cmd, o->verbosity);
  return [o, cmd]() {
    o->save = cmd->get_option("--save")->count() > 0;
    return predict(*o);
  };
}

}  // namespace kiln::cli
