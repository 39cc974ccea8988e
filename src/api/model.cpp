#include "kiln/model.h"

#include "api/image_convert.h"
#include "api/loaded_model.h"

namespace kiln {

struct Model::Impl {
  api::LoadedModel model;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Result<Model> Model::load(const std::filesystem::path& path, const ModelOptions& options) {
  KILN_ASSIGN_OR_RETURN(api::LoadedModel loaded, api::load_model(path, options));
  return Model(std::make_unique<Impl>(Impl{std::move(loaded)}));
}

const ModelInfo& Model::info() const { return impl_->model.info; }

Result<Prediction> Model::predict(const Image& image, const PredictOptions& options) {
  KILN_RETURN_IF_ERROR(api::check_image(image));
  return predict(view_of(image), options);
}

Result<std::vector<Prediction>> Model::predict(std::span<const Image> images, const PredictOptions& options) {
  std::vector<ImageView> views;
  views.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    Status st = api::check_image(images[i]);
    if (!st.ok()) return error(st.code(), "image ", i, ": ", st.message());
    views.push_back(view_of(images[i]));
  }
  return api::predict_images(impl_->model, views, options);
}

Result<Prediction> Model::predict(const ImageView& image, const PredictOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::vector<Prediction> one, api::predict_images(impl_->model, {&image, 1}, options));
  return std::move(one.front());
}

Result<std::vector<Prediction>> Model::predict(std::span<const ImageView> images, const PredictOptions& options) {
  return api::predict_images(impl_->model, images, options);
}

Result<Prediction> Model::predict(const Frame& frame, const PredictOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::vector<Prediction> one, api::predict_frames(impl_->model, {&frame, 1}, options));
  return std::move(one.front());
}

Result<std::vector<Prediction>> Model::predict(std::span<const Frame> frames, const PredictOptions& options) {
  return api::predict_frames(impl_->model, frames, options);
}

Result<std::vector<Prediction>> Model::predict_tensor(const Tensor& input, const PredictOptions& options) {
  return api::predict_tensor(impl_->model, input, options);
}

Result<std::vector<Prediction>> Model::predict_tensor(const DeviceInput& input, const PredictOptions& options) {
  return api::predict_device_input(impl_->model, input, options);
}

Result<std::vector<Tensor>> Model::run(const DeviceInput& input) {
  const api::LoadedModel& m = impl_->model;
  if (m.info.inputs.size() != 1)
    return error(StatusCode::kInvalidArgument, m.name, ": a device input feeds one-input models, this one has ",
                 m.info.inputs.size());
  const std::vector<int64_t>& want = m.info.inputs[0].shape;
  bool fits = input.shape.size() == want.size() && !input.shape.empty() && input.shape[0] >= 1 &&
              input.shape[0] <= m.info.batch;
  for (size_t d = 1; fits && d < want.size(); ++d) fits = want[d] < 0 || want[d] == input.shape[d];
  if (!fits)
    return error(StatusCode::kInvalidArgument, m.name, ": device input ", ir::shape_to_string(input.shape),
                 " does not fit the model's input ", ir::shape_to_string(want), " (at most ", m.info.batch, " rows)");
  KILN_ASSIGN_OR_RETURN(api::DevicePredictor * device, api::device_input_predictor(impl_->model, input));
  return device->run_input(input);
}

Status Model::prepare(int width, int height) {
  const api::LoadedModel& m = impl_->model;
  if (width <= 0 || height <= 0)
    return error(StatusCode::kInvalidArgument, m.name, ": prepare for ", width, "x", height, ": the size must be positive");
  if (!m.info.device.is_cuda() || m.info.task.empty()) return Status::Ok();
  KILN_RETURN_IF_ERROR(m.runner->prepare(m.info, width, height));
  // A predict of a blank image takes the path every later image of this size takes.
  return predict(Image(width, height)).status();
}

Result<std::vector<Tensor>> Model::run(std::span<const Tensor> inputs) {
  std::vector<ir::Tensor> in;
  in.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (static_cast<int64_t>(t.data.size()) != ir::shape_numel(t.shape))
      return error(StatusCode::kInvalidArgument, impl_->model.name, ": input ", i, " has ", t.data.size(),
                   " values, its shape ", ir::shape_to_string(t.shape), " needs ", ir::shape_numel(t.shape));
    in.push_back(ir::Tensor::from_vector<float>(t.shape, t.data));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<ir::Tensor> out, impl_->model.runner->run(in));
  std::vector<Tensor> result;
  result.reserve(out.size());
  for (const ir::Tensor& t : out) {
    ir::Tensor f = t.to_float32();
    std::span<const float> v = f.values<float>();
    result.push_back(Tensor{f.shape(), std::vector<float>(v.begin(), v.end())});
  }
  return result;
}

}  // namespace kiln
