// The parts of the kiln._kiln extension (one file each) and the Status -> exception bridge
// they share: the library returns Status values, the binding raises kiln.Error subclasses
// carrying the same one-line message the CLI prints.
#pragma once

#include <nanobind/nanobind.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include "kiln/model.h"
#include "kiln/status.h"

namespace kiln::python {

class StatusError : public std::runtime_error {
 public:
  explicit StatusError(const Status& status) : std::runtime_error(status.message()), code_(status.code()) {}
  StatusCode code() const { return code_; }

 private:
  StatusCode code_;
};

inline void throw_if_error(const Status& status) {
  if (!status.ok()) throw StatusError(status);
}

template <typename T>
T value_or_throw(Result<T>&& result) {
  if (!result.ok()) throw StatusError(result.status());
  return std::move(result).value();
}

// Runs `f` (returning a Result) with the GIL released, so other Python threads run while
// kiln works, and returns its value or raises.
template <typename F>
auto without_gil(F&& f) {
  std::optional<decltype(f())> result;
  {
    nanobind::gil_scoped_release released;
    result.emplace(f());
  }
  return value_or_throw(std::move(*result));
}

// One loaded model with the path and options it was loaded with (val loads the same model
// the same way). Calls on one model are serialized (its runner keeps per-call state);
// calls on different models run concurrently.
struct PyModel {
  Model model;
  std::filesystem::path path;
  ModelOptions options;
  std::mutex mutex;
};

void bind_errors(nanobind::module_& m);        // errors.cpp
void bind_device_image(nanobind::module_& m);  // device_image.cpp: DeviceImage (CUDA tensors)
void bind_model(nanobind::module_& m);         // model_binding.cpp: Model, Prediction, load_image
void bind_sources(nanobind::module_& m);       // source_binding.cpp: list_sources, VideoReader
void bind_engine(nanobind::module_& m);        // engine_binding.cpp: build, check
void bind_val(nanobind::module_& m);           // val_binding.cpp

}  // namespace kiln::python
