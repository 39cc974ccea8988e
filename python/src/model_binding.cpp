// kiln._kiln.Model (Model::load + predict on image arrays or CUDA tensors, the GIL released
// while it runs), Prediction (the C++ struct, read out as numpy arrays on demand), load_image.
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>

#include "api/prediction_json.h"
#include "arrays.h"
#include "bindings.h"
#include "core/json_text.h"
#include "device_image.h"
#include "kiln/annotate.h"
#include "kiln/model.h"
#include "vision/mask_contour.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kiln::python {

namespace {

nb::dict info_dict(const ModelInfo& i) {
  nb::dict d;
  d["task"] = i.task;
  d["names"] = i.names;
  d["stride"] = i.stride;
  d["imgsz"] = nb::make_tuple(i.imgsz_h, i.imgsz_w);
  d["dynamic_input"] = i.dynamic_input;
  d["kpt_shape"] = i.kpt_shape;
  d["batch"] = i.batch;
  d["device"] = i.device.to_string();
  d["precision"] = std::string(to_string(i.precision));
  d["engine_path"] = i.engine_path.string();
  d["engine_built"] = i.engine_built;
  d["note"] = i.note;
  auto tensors = [](const std::vector<TensorInfo>& ts) {
    nb::list l;
    for (const TensorInfo& t : ts) l.append(nb::make_tuple(t.name, t.shape));
    return l;
  };
  d["inputs"] = tensors(i.inputs);
  d["outputs"] = tensors(i.outputs);
  return d;
}

// The Python arguments, parsed once here: "" leaves device / precision unset; batch is N or
// "MIN:OPT:MAX"; task and names supply what a model's metadata lacks; the calib* and int8_*
// arguments are the CLI's --calib* / --int8-* flags, checked by the same code (int8 only).
Result<ModelOptions> model_options(const std::string& device, const std::string& precision, const std::string& batch,
                                   int imgsz, const std::string& cache_dir, bool strict_gpu, const std::string& task,
                                   const std::vector<std::string>& names, const std::string& calib,
                                   std::optional<int64_t> calib_images, const std::string& calib_method,
                                   const std::vector<std::string>& int8_exclude,
                                   std::optional<double> int8_target_drop) {
  ModelOptions o;
  if (!device.empty()) {
    KILN_ASSIGN_OR_RETURN(o.device, parse_device(device));
  }
  if (!precision.empty()) {
    KILN_ASSIGN_OR_RETURN(o.precision, parse_precision(precision));
  }
  KILN_ASSIGN_OR_RETURN(o.batch, parse_batch_profile(batch));
  o.imgsz = imgsz;
  o.cache_dir = cache_dir;
  o.strict_gpu = strict_gpu;
  o.task = task;
  o.names = names;
  Int8Arguments int8{calib, calib_images, calib_method, int8_exclude, int8_target_drop};
  KILN_ASSIGN_OR_RETURN(o.int8, parse_int8_options(int8, o.precision == Precision::kInt8));
  return o;
}

PredictOptions predict_options(float conf, double iou, int max_det, std::vector<int> classes, bool agnostic_nms) {
  PredictOptions o;
  o.conf = conf;
  o.iou = iou;
  o.max_det = max_det;
  o.classes = std::move(classes);
  o.agnostic_nms = agnostic_nms;
  return o;
}

std::vector<Prediction> predict(PyModel& self, const std::vector<ImageArray>& images, float conf, double iou,
                                int max_det, std::vector<int> classes, bool agnostic_nms) {
  std::vector<ImageView> views;
  views.reserve(images.size());
  for (const ImageArray& a : images)
    views.push_back({static_cast<int>(a.shape(1)), static_cast<int>(a.shape(0)), a.data(), false});
  const PredictOptions o = predict_options(conf, iou, max_det, std::move(classes), agnostic_nms);
  return without_gil([&] {
    std::lock_guard<std::mutex> lock(self.mutex);
    return self.model.predict(std::span<const ImageView>(views), o);
  });
}

// CUDA tensors as device frames, each on the model's GPU: no copy of their pixels is made.
std::vector<Prediction> predict_device(PyModel& self, const nb::list& images, float conf, double iou, int max_det,
                                       std::vector<int> classes, bool agnostic_nms) {
  const ModelInfo& info = self.model.info();
  std::vector<Frame> frames;
  frames.reserve(images.size());
  for (nb::handle item : images) {
    const DeviceImage& image = nb::cast<const DeviceImage&>(item);
    if (!info.device.is_cuda())
      throw StatusError(error(StatusCode::kInvalidArgument, "image ", image.index, ": a CUDA tensor (cuda:",
                              image.device(), ") needs a model on a GPU; this one runs on ", info.device.to_string(),
                              info.note.empty() ? "" : " (" + info.note + ")"));
    if (image.device() != info.device.index)
      throw StatusError(error(StatusCode::kInvalidArgument, "image ", image.index, ": the tensor is on cuda:",
                              image.device(), ", the model on ", info.device.to_string()));
    frames.push_back(image.frame());
  }
  const PredictOptions o = predict_options(conf, iou, max_det, std::move(classes), agnostic_nms);
  return without_gil([&] {
    std::lock_guard<std::mutex> lock(self.mutex);
    return self.model.predict(std::span<const Frame>(frames), o);
  });
}

// Ultralytics' Boxes.data layout: x1, y1, x2, y2, conf, cls.
nb::ndarray<nb::numpy, float> boxes(const Prediction& p) {
  std::vector<float> v;
  v.reserve(p.boxes.size() * 6);
  for (const Detection& d : p.boxes)
    v.insert(v.end(), {d.box.x1, d.box.y1, d.box.x2, d.box.y2, d.confidence, static_cast<float>(d.class_id)});
  return owned_array(std::move(v), {p.boxes.size(), 6});
}

// Ultralytics' OBB.data layout: cx, cy, w, h, angle, conf, cls.
nb::ndarray<nb::numpy, float> obb(const Prediction& p) {
  std::vector<float> v;
  v.reserve(p.obb.size() * 7);
  for (const RotatedBox& r : p.obb)
    v.insert(v.end(), {r.cx, r.cy, r.w, r.h, r.angle, r.confidence, static_cast<float>(r.class_id)});
  return owned_array(std::move(v), {p.obb.size(), 7});
}

// [n, k, 3]: x, y, confidence per keypoint.
nb::ndarray<nb::numpy, float> keypoints(const Prediction& p) {
  const size_t k = p.keypoints.empty() ? 0 : p.keypoints[0].points.size();
  std::vector<float> v;
  v.reserve(p.keypoints.size() * k * 3);
  for (const Keypoints& kp : p.keypoints)
    for (const Keypoint& q : kp.points) v.insert(v.end(), {q.x, q.y, q.confidence});
  return owned_array(std::move(v), {p.keypoints.size(), k, 3});
}

// [n, height, width] of 0/1 at the original image size.
nb::ndarray<nb::numpy, uint8_t> masks(const Prediction& p) {
  const size_t h = p.masks.empty() ? 0 : p.masks[0].height, w = p.masks.empty() ? 0 : p.masks[0].width;
  std::vector<uint8_t> v;
  v.reserve(p.masks.size() * h * w);
  for (const Mask& m : p.masks) v.insert(v.end(), m.data.begin(), m.data.end());
  return owned_array(std::move(v), {p.masks.size(), h, w});
}

// One [points, 2] float32 polygon per mask (Ultralytics' Masks.xy).
nb::list mask_polygons(const Prediction& p) {
  nb::list out;
  for (const Mask& m : p.masks) {
    std::vector<float> v;
    const std::vector<vision::ContourPoint> poly = vision::mask_polygon(m.data.data(), m.width, m.height);
    for (const vision::ContourPoint& q : poly) v.insert(v.end(), {static_cast<float>(q.x), static_cast<float>(q.y)});
    out.append(owned_array(std::move(v), {poly.size(), 2}));
  }
  return out;
}

nb::ndarray<nb::numpy, uint8_t> image_array(Image&& image) {
  const size_t h = image.height, w = image.width;
  return owned_array(std::move(image.pixels), {h, w, 3});
}

nb::ndarray<nb::numpy, uint8_t> plot(const Prediction& p, const ImageArray& image, const std::vector<std::string>& names) {
  Image canvas;
  canvas.height = static_cast<int>(image.shape(0));
  canvas.width = static_cast<int>(image.shape(1));
  canvas.pixels.assign(image.data(), image.data() + image.size());
  draw_prediction(canvas, p, names);
  return image_array(std::move(canvas));
}

}  // namespace

void bind_model(nb::module_& m) {
  nb::class_<Prediction>(m, "Prediction", "One image's results (see kiln.Results for the documented view)")
      .def_prop_ro("boxes", &boxes, nb::rv_policy::move, "float32 [n, 6]: x1, y1, x2, y2, conf, cls")
      .def_prop_ro("obb", &obb, nb::rv_policy::move, "float32 [n, 7]: cx, cy, w, h, angle (radians), conf, cls")
      .def_prop_ro("keypoints", &keypoints, nb::rv_policy::move, "float32 [n, k, 3]: x, y, conf")
      .def_prop_ro("masks", &masks, nb::rv_policy::move, "uint8 [n, height, width], 1 inside the instance")
      .def("mask_polygons", &mask_polygons, "One float32 [points, 2] polygon per mask")
      .def_prop_ro("top5", [](const Prediction& p) {
        std::vector<std::pair<int, float>> v;
        for (const ClassScore& c : p.top5) v.emplace_back(c.class_id, c.score);
        return v;
      }, "Classify: (class id, score) pairs, best first")
      .def_prop_ro("input_shape", [](const Prediction& p) { return std::make_pair(p.input_height, p.input_width); })
      .def_prop_ro("speed", [](const Prediction& p) {
        return std::make_tuple(p.speed.preprocess_ms, p.speed.inference_ms, p.speed.postprocess_ms);
      }, "(preprocess, inference, postprocess) ms per image")
      .def("to_json", [](const Prediction& p, const std::vector<std::string>& names) {
        return json_text(api::prediction_json(p, names));
      }, "names"_a, "kiln predict --json's object for this image")
      .def("plot", &plot, "image"_a, "names"_a, "A copy of `image` (HWC BGR uint8) with the results drawn");

  nb::class_<PyModel>(m, "Model", "A loaded model (kiln::Model)")
      .def("__init__",
           [](PyModel* self, const std::filesystem::path& path, const std::string& device, const std::string& precision,
              const std::string& batch, int imgsz, const std::string& cache_dir, bool strict_gpu,
              const std::string& task, const std::vector<std::string>& names, const std::string& calib,
              std::optional<int64_t> calib_images, const std::string& calib_method,
              const std::vector<std::string>& int8_exclude, std::optional<double> int8_target_drop) {
             ModelOptions options =
                 value_or_throw(model_options(device, precision, batch, imgsz, cache_dir, strict_gpu, task, names,
                                              calib, calib_images, calib_method, int8_exclude, int8_target_drop));
             Model model = without_gil([&] { return Model::load(path, options); });
             new (self) PyModel{std::move(model), path, std::move(options), {}};
           },
           "path"_a, "device"_a = "", "precision"_a = "", "batch"_a = "1", "imgsz"_a = 0, "cache_dir"_a = "",
           "strict_gpu"_a = false, "task"_a = "", "names"_a = std::vector<std::string>{}, "calib"_a = "",
           "calib_images"_a = nb::none(), "calib_method"_a = "", "int8_exclude"_a = std::vector<std::string>{},
           "int8_target_drop"_a = nb::none())
      .def("info", [](const PyModel& self) { return info_dict(self.model.info()); })
      .def("predict", &predict, "images"_a, "conf"_a = 0.25f, "iou"_a = 0.7, "max_det"_a = 300,
           "classes"_a = std::vector<int>{}, "agnostic_nms"_a = false,
           "Predicts HWC BGR uint8 images, info()['batch'] per inference; the GIL is released meanwhile")
      .def("predict_device", &predict_device, "images"_a, "conf"_a = 0.25f, "iou"_a = 0.7, "max_det"_a = 300,
           "classes"_a = std::vector<int>{}, "agnostic_nms"_a = false,
           nb::sig("def predict_device(self, images: list[DeviceImage], conf: float = 0.25, iou: float = 0.7, "
                   "max_det: int = 300, classes: list[int] = [], agnostic_nms: bool = False) -> list[Prediction]"),
           "Predicts CUDA tensors (DeviceImage) in place on the model's GPU, as predict does images");

  m.def("load_image", [](const std::filesystem::path& path) {
    return image_array(without_gil([&] { return load_image(path); }));
  }, "path"_a, "Decodes a JPEG, PNG or BMP as cv2.imread does: HWC BGR uint8");
}

}  // namespace kiln::python
