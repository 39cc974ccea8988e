// kiln run --model M --inputs x.npy|x.npz [--outputs out.npz|out.npy] [--json]
// Raw-tensor mode for any model, like trtexec's --loadInputs/--exportOutput: float32
// inputs from NumPy files in, the model's outputs out, no YOLO pre/post-processing. An
// .npy feeds a one-input model; an .npz feeds inputs by name. Without --outputs each
// output is summarized (shape, min, max, mean).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli_output.h"
#include "commands.h"
#include "core/file_util.h"
#include "core/json_text.h"
#include "core/npy.h"
#include "model_args.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

struct RunArgs {
  ModelArgs model;
  std::string inputs, outputs;
  bool json = false;
  Verbosity verbosity = Verbosity::kNormal;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

// The arrays of --inputs, read before the model is loaded so that a missing or malformed
// file is reported before an engine is built: an .npz's by name, an .npy's one unnamed.
struct InputArrays {
  std::vector<std::pair<std::string, NpyArray>> arrays;
  bool named = true;  // false: one .npy array, for the model's only input
};

Result<InputArrays> read_arrays(const std::string& path) {
  InputArrays in;
  if (fs::path(path).extension() == ".npz") {
    KILN_ASSIGN_OR_RETURN(in.arrays, read_npz(path));
    return in;
  }
  KILN_ASSIGN_OR_RETURN(NpyArray array, read_npy(path));
  in.arrays.emplace_back(std::string(), std::move(array));
  in.named = false;
  return in;
}

// The model's inputs in its order: an .npy's array for a one-input model, else an .npz member
// per input name. Shapes must match what the model declares (-1: any).
Result<std::vector<Tensor>> match_inputs(const RunArgs& a, InputArrays file, const ModelInfo& info) {
  std::vector<std::pair<std::string, NpyArray>>& arrays = file.arrays;
  if (!file.named) {
    if (info.inputs.size() != 1)
      return error(StatusCode::kInvalidArgument, a.inputs, ": ", a.model.model, " has ", info.inputs.size(),
                   " inputs; give an .npz with one array per input name");
    arrays[0].first = info.inputs[0].name;
  }
  std::vector<Tensor> tensors;
  for (const TensorInfo& in : info.inputs) {
    auto it = std::find_if(arrays.begin(), arrays.end(), [&](const auto& p) { return p.first == in.name; });
    if (it == arrays.end()) return error(StatusCode::kInvalidArgument, a.inputs, ": no array named '", in.name, "' (a model input)");
    const std::vector<int64_t>& got = it->second.shape;
    bool fits = got.size() == in.shape.size();
    for (size_t d = 0; fits && d < got.size(); ++d) fits = in.shape[d] < 0 || in.shape[d] == got[d];
    if (!fits)
      return error(StatusCode::kInvalidArgument, a.inputs, ": '", in.name, "' is ", shape_text(got), ", the model wants ",
                   shape_text(in.shape));
    tensors.push_back(Tensor{got, std::move(it->second.data)});
  }
  return tensors;
}

Status run(const RunArgs& a) {
  if (!a.outputs.empty()) KILN_RETURN_IF_ERROR(check_output_path(a.outputs));
  KILN_ASSIGN_OR_RETURN(InputArrays arrays, read_arrays(a.inputs));
  Messages messages("run", a.verbosity);
  KILN_ASSIGN_OR_RETURN(LoadedModel loaded, load_model(a.model, messages));
  const ModelInfo& info = loaded.model.info();
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, match_inputs(a, std::move(arrays), info));
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, loaded.model.run(inputs));

  std::vector<std::pair<std::string, NpyArray>> named;
  nlohmann::json summary = nlohmann::json::array();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string name = i < info.outputs.size() ? info.outputs[i].name : "output" + std::to_string(i);
    const std::vector<float>& d = outputs[i].data;
    const auto [lo, hi] = std::minmax_element(d.begin(), d.end());
    const double mean = d.empty() ? 0.0 : std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(d.size());
    summary.push_back({{"name", name}, {"shape", outputs[i].shape}, {"min", d.empty() ? 0.f : *lo},
                       {"max", d.empty() ? 0.f : *hi}, {"mean", mean}});
    named.emplace_back(name, NpyArray{outputs[i].shape, std::move(outputs[i].data)});
  }
  if (!a.outputs.empty()) {
    if (fs::path(a.outputs).extension() == ".npy") {
      if (named.size() != 1)
        return error(StatusCode::kInvalidArgument, a.outputs, ": the model has ", named.size(), " outputs; write an .npz");
      KILN_RETURN_IF_ERROR(write_npy(a.outputs, named[0].second));
    } else {
      KILN_RETURN_IF_ERROR(write_npz(a.outputs, named));
    }
  }
  if (a.json) {
    nlohmann::json doc = loaded.json;
    doc["events"] = messages.events();
    doc["outputs"] = summary;
    if (!a.outputs.empty()) doc["saved"] = a.outputs;
    std::printf("%s\n", json_text(doc, 1).c_str());
    return Status::Ok();
  }
  for (const auto& s : summary)
    std::printf("%s %s min %.6g max %.6g mean %.6g\n", s["name"].get<std::string>().c_str(),
                shape_text(s["shape"].get<std::vector<int64_t>>()).c_str(), s["min"].get<double>(),
                s["max"].get<double>(), s["mean"].get<double>());
  if (!a.outputs.empty()) std::printf("Outputs saved to %s\n", a.outputs.c_str());
  return Status::Ok();
}

}  // namespace

Runner register_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run any model on raw tensors (NumPy .npy/.npz in and out), like trtexec");
  add_model_args(*cmd, a->model, "ONNX model, .kiln engine, or a model name from kiln.yaml");
  cmd->add_option("--inputs", a->inputs, ".npy (one-input models) or .npz with an array per input name (float32)")
      ->required();
  cmd->add_option("--outputs", a->outputs, "write the outputs: .npz (by output name) or .npy (one-output models)");
  cmd->add_option("--precision", a->model.precision, "fp32 | fp16 (fp16 needs a GPU)")->check(CLI::IsMember({"fp32", "fp16"}));
  cmd->add_option("--batch", a->model.batch, "batch the engine is built for")->capture_default_str();
  cmd->add_flag("--json", a->json, "print the model and the output summary as JSON");
  add_verbosity_flags(*cmd, a->verbosity);
  return [a]() {
    Status st = run(*a);
    return st.ok() ? kExitOk : report_error("run", st);
  };
}

}  // namespace kiln::cli
