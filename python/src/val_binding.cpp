// kiln._kiln.val: validation/validate.h's run of a loaded model (its path and the options it
// was loaded with: device, precision, task, names, int8), returned as `kiln val --json`'s
// JSON text.
#include <nanobind/stl/string.h>

#include "bindings.h"
#include "core/json_text.h"
#include "validation/validate.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kiln::python {

void bind_val(nb::module_& m) {
  m.def("val",
        [](const PyModel& model, const std::string& data, const std::string& split, int imgsz, bool imgsz_given,
           int batch, float conf, bool conf_given, double iou, int max_det) {
          validation::ValOptions o;
          o.model = model.path.string();
          o.model_options = model.options;
          o.data = data;
          o.split = split;
          o.imgsz = imgsz;
          o.imgsz_given = imgsz_given;
          o.batch = batch;
          o.conf = conf;
          o.conf_given = conf_given;
          o.iou = iou;
          o.max_det = max_det;
          return json_text(without_gil([&] { return validation::validate(o); }).json);
        },
        "model"_a, "data"_a, "split"_a, "imgsz"_a, "imgsz_given"_a, "batch"_a, "conf"_a, "conf_given"_a, "iou"_a,
        "max_det"_a, "Validates a loaded model on a dataset; `kiln val --json`'s figures");
}

}  // namespace kiln::python
