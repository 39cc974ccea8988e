// kiln._kiln: the compiled half of the `kiln` Python package (python/kiln/ is the other).
#include "bindings.h"

NB_MODULE(_kiln, m) {
  m.doc() = "kiln's C++ API for Python; use the `kiln` package (kiln.YOLO) rather than this module";
  m.attr("__version__") = KILN_VERSION;
  kiln::python::bind_errors(m);
  kiln::python::bind_device_image(m);
  kiln::python::bind_model(m);
  kiln::python::bind_sources(m);
  kiln::python::bind_engine(m);
  kiln::python::bind_val(m);
}
