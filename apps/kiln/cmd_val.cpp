// kiln val: accuracy of a detect, segment, pose, obb or classify model on an Ultralytics-format
// dataset, as Ultralytics' `yolo val` computes it (validation/validate.h does the work). The
// model (a file or a kiln.yaml name, --task / --names where its metadata lacks them: the
// model options predict has, model_args.h) runs through the kiln API (CPU by default;
// --device cuda and --precision fp16 where kiln is built with CUDA; int8 with --calib on the
// CPU). --precision fp32,fp16,int8 validates at each precision in turn and adds a table of
// every precision's figures beside FP32's.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli_output.h"
#include "commands.h"
#include "core/file_util.h"
#include "core/json_text.h"
#include "model_args.h"
#include "option_flags.h"
#include "val_run.h"
#include "validation/validate.h"

namespace kiln::cli {

namespace {

using validation::ValRun;

struct ValArgs {
  validation::ValOptions val;  // the model and how it loads come from `model` and `precisions`
  ModelArgs model;
  std::string precisions;  // --precision: one, or a comma-separated list
  bool json = false;
  std::string save_json;  // COCO results file
  Verbosity verbosity = Verbosity::kNormal;
  Int8Arguments int8;  // for the int8 run of the list
};


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

Status val(const ValArgs& a) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> precisions, split_precisions(a.precisions));
  KILN_ASSIGN_OR_RETURN(ResolvedModel resolved, resolve_model_args(a.model));
  validation::ValOptions o = a.val;
  o.model = resolved.path;
  o.model_options = resolved.options;
  const bool int8_run = std::find(precisions.begin(), precisions.end(), "int8") != precisions.end();
  KILN_ASSIGN_OR_RETURN(Int8Options int8, parse_int8_options(a.int8, int8_run));
  if (int8_run && !(int8 == Int8Options{})) o.model_options.int8 = int8;  // flags win over kiln.yaml
  if (!o.imgsz_given && resolved.options.imgsz > 0) {  // a kiln.yaml entry's imgsz
    o.imgsz = resolved.options.imgsz;
    o.imgsz_given = true;
  }
  if (precisions.size() > 1 && !a.save_json.empty())
    return error(StatusCode::kInvalidArgument, "--save-json writes one run's predictions: give one --precision");
  o.coco_predictions = !a.save_json.empty();
  if (o.coco_predictions) KILN_RETURN_IF_ERROR(check_output_path(a.save_json));
  std::vector<ValRun> runs;
  for (const std::string& p : precisions) {
    Messages messages("val", a.verbosity);
    BuildProgress build(messages);
    o.model_options.progress = build.hook();
    std::unique_ptr<Progress> bar;
    o.on_image = [&](size_t done, size_t total) {
      if (!bar) bar = std::make_unique<Progress>(messages, total, "images");
      bar->update(done);
    };
    o.on_model = [&](const ModelInfo& info) {
      build.finish();
      report_load(info, o.model, -1, messages);
    };
    if (!p.empty()) {
      KILN_ASSIGN_OR_RETURN(o.model_options.precision, precision_flag(p));
    }
    KILN_ASSIGN_OR_RETURN(ValRun run, validation::validate(o));
    run.json["events"] = messages.events();
    if (!a.save_json.empty()) {
      const std::string text = json_text(run.coco);
      KILN_RETURN_IF_ERROR(write_file_atomic(a.save_json, text.data(), text.size()));
      messages.detail(std::to_string(run.coco.size()) + " COCO predictions saved to " + a.save_json);
    }
    runs.push_back(std::move(run));
  }
  if (runs.size() == 1) {
    std::printf("%s", a.json ? (json_text(runs[0].json, 1) + "\n").c_str() : runs[0].table.c_str());
    return Status::Ok();
  }
  size_t base = 0;
  for (size_t i = 0; i < runs.size(); ++i)
    if (runs[i].precision == "fp32") base = i;
  if (a.json) {
    nlohmann::json j = {{"model", o.model}, {"data", o.data}, {"baseline", runs[base].precision},
                        {"runs", nlohmann::json::array()}};
    for (const ValRun& r : runs) {
      nlohmann::json run = r.json;
      for (size_t k = 0; k < r.figures.size(); ++k)
        run["delta_to_baseline"][r.figures[k].first] = r.figures[k].second - runs[base].figures[k].second;
      j["runs"].push_back(std::move(run));
    }
    std::printf("%s\n", json_text(j, 1).c_str());
  } else {
    for (const ValRun& r : runs) std::printf("precision %s\n%s\n", r.precision.c_str(), r.table.c_str());
    std::printf("%s", validation::summary_table(runs, base).c_str());
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::pair<std::string, double>>> val_figures(const std::string& model, const std::string& data,
                                                                const ModelOptions& options) {
  validation::ValOptions o;
  o.model = model;
  o.data = data;
  o.model_options = options;
  if (options.imgsz > 0) {
    o.imgsz = options.imgsz;
    o.imgsz_given = true;
  }
  KILN_ASSIGN_OR_RETURN(ValRun run, validation::validate(o));
  return run.figures;
}

Runner register_val(CLI::App& app) {
  auto a = std::make_shared<ValArgs>();
  validation::ValOptions* o = &a->val;
  CLI::App* cmd = app.add_subcommand("val", "Accuracy of a detect, segment, pose, obb or classify model on a dataset, as Ultralytics val");
  add_model_args(*cmd, a->model, "ONNX model (Ultralytics export), .kiln engine, or a model name from kiln.yaml");
  cmd->add_option("--data", o->data, "dataset yaml (Ultralytics format); classify: the dataset folder")->required();
  cmd->add_option("--split", o->split, "dataset split to evaluate")->capture_default_str();
  CLI::Option* imgsz = cmd->add_option("--imgsz", o->imgsz, "input size for models with dynamic height/width")
                           ->capture_default_str();
  cmd->add_option("--batch", o->batch, "batch size that sets the rectangular shapes of dynamic models")
      ->capture_default_str();
  CLI::Option* conf =
      cmd->add_option("--conf", o->conf, "confidence threshold (obb models: 0.01 unless given)")->capture_default_str();
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->capture_default_str();
  cmd->add_option("--max-det", o->max_det, "maximum detections per image")->capture_default_str();
  cmd->add_flag("--json", a->json, "print the figures as JSON (on stdout) instead of the table");
  cmd->add_option("--save-json", a->save_json,
                  "write the predictions in COCO results format (image_id, category_id, bbox xywh, score) to this file");
  add_verbosity_flags(*cmd, a->verbosity);
  cmd->add_option("--precision", a->precisions,
                  "fp32, fp16 (needs a GPU), int8 or a list such as fp32,fp16,int8: one run each, with deltas to fp32");
  add_int8_flags(*cmd, a->int8);
  return [a, imgsz, conf]() {
    a->val.imgsz_given = imgsz->count() > 0;
    a->val.conf_given = conf->count() > 0;
    Status st = val(*a);
    return st.ok() ? kExitOk : report_error("val", st);
  };
}

}  // namespace kiln::cli
