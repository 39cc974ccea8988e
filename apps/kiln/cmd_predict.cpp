// kiln predict: run a detect model on images with the CPU backend, the way Ultralytics'
// `yolo predict` does (same letterbox, NMS and box scaling), print one line per image,
// and optionally write JSON results and annotated images.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "backends/cpu/executor.h"
#include "commands.h"
#include "core/file_util.h"
#include "ir/model_metadata.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "vision/detect.h"
#include "vision/draw.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"
#include "vision/results_json.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

struct PredictOptions {
  std::string model;
  std::string source;
  float conf = 0.25f;
  double iou = 0.7;
  int imgsz = 640;
  int max_det = 300;
  std::vector<int> classes;
  std::string json_out;
  std::string save_dir;
};

// A source file, or a directory's image files sorted by name (other files skipped).
Result<std::vector<fs::path>> list_sources(const fs::path& source) {
  std::error_code ec;
  if (!fs::exists(source, ec)) return error(StatusCode::kNotFound, source.string(), ": no such file or directory");
  if (!fs::is_directory(source, ec)) return std::vector<fs::path>{source};
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(source, ec))
    if (entry.is_regular_file() && vision::has_image_extension(entry.path())) images.push_back(entry.path());
  if (ec) return error(StatusCode::kIoError, source.string(), ": cannot list: ", ec.message());
  if (images.empty()) return error(StatusCode::kNotFound, source.string(), ": no images (jpg, jpeg, png, bmp) in directory");
  std::sort(images.begin(), images.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return images;
}

// The model, optimized for batch 1 at its input size, ready to run on the CPU.
struct LoadedModel {
  std::unique_ptr<ir::Graph> graph;
  ir::ModelMetadata meta;
  int input_h = 0, input_w = 0;  // static size, or the --imgsz bound of a dynamic model
  bool dynamic_hw = false;       // height/width symbolic: each image gets its own shape
  std::unique_ptr<cpu::Executor> executor;
};

Result<LoadedModel> load_model(const fs::path& path, int imgsz) {
  LoadedModel m;
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model(path));
  m.graph = std::make_unique<ir::Graph>(std::move(graph));
  KILN_ASSIGN_OR_RETURN(m.meta, ir::parse_model_metadata(m.graph->metadata));
  const std::string task = m.meta.task.empty() ? "detect" : m.meta.task;
  if (task != "detect")
    return error(StatusCode::kUnsupported, path.string(), ": task ", task, " not supported by predict yet");
  if (m.meta.end2end)
    return error(StatusCode::kUnsupported, path.string(), ": end2end (NMS-free) exports not supported by predict yet");
  if (m.graph->inputs.size() != 1 || m.graph->outputs.size() != 1)
    return error(StatusCode::kUnsupported, path.string(), ": predict expects one input and one output, model has ",
                 m.graph->inputs.size(), " and ", m.graph->outputs.size());
  const ir::Value* input = m.graph->inputs[0];
  if (!input->shape || input->shape->size() != 4)
    return error(StatusCode::kUnsupported, path.string(), ": input ", input->name, " is not NCHW");

  // Static dims are kept; a symbolic batch is bound to 1. Symbolic height/width stay
  // symbolic: like Ultralytics with a dynamic model, each image is letterboxed to
  // --imgsz (rounded up to the stride, check_imgsz) with minimal padding.
  passes::OptimizeOptions opt;
  const int side = vision::round_up_to_stride(imgsz, static_cast<int>(m.meta.stride));
  const ir::Shape& shape = *input->shape;
  const int64_t bound[4] = {1, 3, side, side};
  int64_t dims[4];
  for (int i = 0; i < 4; ++i) dims[i] = shape[i].is_known() ? shape[i].value : bound[i];
  if (!shape[0].is_known() && !shape[0].symbol.empty()) opt.bind_dims[shape[0].symbol] = 1;
  m.dynamic_hw = !shape[2].is_known() || !shape[3].is_known();
  if (dims[0] != 1 || dims[1] != 3)
    return error(StatusCode::kUnsupported, path.string(), ": input ", input->name, " is ", ir::shape_to_string(shape),
                 ", predict needs batch 1 and 3 channels");
  m.input_h = static_cast<int>(dims[2]);
  m.input_w = static_cast<int>(dims[3]);
  KILN_RETURN_IF_ERROR(passes::optimize(*m.graph, opt));
  KILN_ASSIGN_OR_RETURN(cpu::Executor exec, cpu::Executor::create(*m.graph));
  m.executor = std::make_unique<cpu::Executor>(std::move(exec));
  return m;
}

// "4 persons, 1 bus, " in class-id order, like Ultralytics' verbose line.
std::string summarize(const std::vector<vision::Detection>& dets, const std::vector<std::string>& names) {
  if (dets.empty()) return "(no detections), ";
  std::map<int, int> counts;
  for (const auto& d : dets) ++counts[d.class_id];
  std::ostringstream os;
  for (auto [cls, n] : counts) {
    std::string name = cls < static_cast<int>(names.size()) ? names[cls] : std::to_string(cls);
    os << n << " " << name << (n > 1 ? "s" : "") << ", ";
  }
  return os.str();
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Status predict(const PredictOptions& o) {
  if (o.conf < 0 || o.conf > 1) return error(StatusCode::kInvalidArgument, "--conf must be in [0, 1], got ", o.conf);
  if (o.iou < 0 || o.iou > 1) return error(StatusCode::kInvalidArgument, "--iou must be in [0, 1], got ", o.iou);
  if (o.imgsz < 1) return error(StatusCode::kInvalidArgument, "--imgsz must be positive, got ", o.imgsz);
  if (!fs::exists(o.model)) return error(StatusCode::kNotFound, o.model, ": no such file");
  KILN_ASSIGN_OR_RETURN(std::vector<fs::path> sources, list_sources(o.source));
  KILN_ASSIGN_OR_RETURN(LoadedModel model, load_model(o.model, o.imgsz));

  vision::NmsOptions nms;
  nms.conf = o.conf;
  nms.iou = o.iou;
  nms.max_det = o.max_det;
  nms.classes = o.classes;
  if (!o.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.save_dir, ec);
    if (ec) return error(StatusCode::kIoError, o.save_dir, ": cannot create: ", ec.message());
  }

  nlohmann::json results = nlohmann::json::array();
  double t_pre = 0, t_inf = 0, t_post = 0;
  int last_h = model.input_h, last_w = model.input_w;  // Ultralytics reports the last shape
  for (size_t i = 0; i < sources.size(); ++i) {
    const fs::path& path = sources[i];
    auto t0 = std::chrono::steady_clock::now();
    KILN_ASSIGN_OR_RETURN(vision::Image image, vision::decode_image(path));
    vision::Letterboxed lb =
        model.dynamic_hw
            ? vision::letterbox_min_pad(image, model.input_h, model.input_w, static_cast<int>(model.meta.stride))
            : vision::letterbox(image, model.input_h, model.input_w);
    const int in_h = lb.image.height, in_w = lb.image.width;
    last_h = in_h, last_w = in_w;
    ir::Tensor tensor = ir::Tensor::from_vector<float>({1, 3, in_h, in_w}, vision::to_nchw_rgb(lb.image));
    double pre = ms_since(t0);

    auto t1 = std::chrono::steady_clock::now();
    KILN_ASSIGN_OR_RETURN(std::vector<ir::Tensor> outputs, model.executor->run({tensor}));
    double inf = ms_since(t1);

    auto t2 = std::chrono::steady_clock::now();
    const ir::Tensor& out = outputs[0];
    if (out.rank() != 3 || out.dim(0) != 1 || out.dim(1) <= 4 || out.dtype() != ir::DType::kFloat32)
      return error(StatusCode::kUnsupported, o.model, ": detect output ", ir::shape_to_string(out.shape()),
                   " is not [1, 4+classes, anchors] float32");
    const int num_classes = static_cast<int>(out.dim(1) - 4);
    const int num_anchors = static_cast<int>(out.dim(2));
    std::vector<vision::Detection> dets =
        vision::decode_detect(out.values<float>(), num_anchors, num_classes, nms, in_h, in_w, image.height, image.width);
    double post = ms_since(t2);
    t_pre += pre, t_inf += inf, t_post += post;

    std::printf("image %zu/%zu %s: %dx%d %s%.1fms\n", i + 1, sources.size(), path.filename().string().c_str(),
                in_h, in_w, summarize(dets, model.meta.names).c_str(), inf);
    std::fflush(stdout);
    results.push_back(vision::image_result_json(path.filename().string(), dets, model.meta.names));
    if (!o.save_dir.empty()) {
      vision::draw_detections(image, dets, model.meta.names);
      fs::path out_path = fs::path(o.save_dir) / path.filename().replace_extension(".jpg");
      KILN_RETURN_IF_ERROR(vision::save_jpeg(out_path, image));
    }
  }
  const double n = static_cast<double>(sources.size());
  std::printf("Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image at shape (1, 3, %d, %d)\n",
              t_pre / n, t_inf / n, t_post / n, last_h, last_w);
  if (!o.json_out.empty()) {
    std::string text = results.dump(1);
    KILN_RETURN_IF_ERROR(write_file_atomic(o.json_out, text.data(), text.size()));
  }
  if (!o.save_dir.empty()) std::printf("Results saved to %s\n", o.save_dir.c_str());
  return Status::Ok();
}

}  // namespace

Runner register_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Run a detect model on images (CPU backend)");
  cmd->add_option("--model", o->model, "ONNX model (Ultralytics export)")->required();
  cmd->add_option("--source", o->source, "image file or directory of images")->required();
  cmd->add_option("--conf", o->conf, "confidence threshold")->capture_default_str();
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->capture_default_str();
  cmd->add_option("--imgsz", o->imgsz, "input size for models with dynamic height/width")->capture_default_str();
  cmd->add_option("--max-det", o->max_det, "maximum detections per image")->capture_default_str();
  cmd->add_option("--classes", o->classes, "keep only these class ids (comma-separated)")->delimiter(',');
  cmd->add_option("--json", o->json_out, "write detections as JSON to this file");
  cmd->add_option("--save", o->save_dir, "write annotated images into this directory");
  return [o]() {
    Status st = predict(*o);
    return st.ok() ? kExitOk : report_error("predict", st);
  };
}

}  // namespace kiln::cli
