// kiln.Error and one subclass per StatusCode. Subclasses also derive from the builtin a
// Python caller would catch (ValueError, FileNotFoundError, OSError) where one fits.
#include <array>

#include "bindings.h"

namespace nb = nanobind;

namespace kiln::python {

namespace {

struct ErrorClass {
  StatusCode code;
  const char* name;
  PyObject* builtin;  // second base, or nullptr
  const char* doc;
};

// Indexed by StatusCode (kCancelled is the last); filled once at import.
std::array<PyObject*, static_cast<size_t>(StatusCode::kCancelled) + 1> g_classes{};

}  // namespace

void bind_errors(nb::module_& m) {
  PyObject* base = PyErr_NewExceptionWithDoc("kiln.Error", "Any error kiln reports (a one-line message).",
                                             PyExc_RuntimeError, nullptr);
  m.attr("Error") = nb::steal(base);
  const ErrorClass classes[] = {
      {StatusCode::kInvalidArgument, "InvalidArgumentError", PyExc_ValueError, "A malformed argument or input."},
      {StatusCode::kNotFound, "NotFoundError", PyExc_FileNotFoundError, "A file, model, op or key that does not exist."},
      {StatusCode::kUnsupported, "UnsupportedError", nullptr, "Valid input kiln cannot handle."},
      {StatusCode::kCorrupt, "CorruptError", nullptr, "A file that exists but cannot be parsed."},
      {StatusCode::kIoError, "IoError", PyExc_OSError, "The operating system refused (permissions, disk full)."},
      {StatusCode::kIncompatible, "IncompatibleError", nullptr, "An engine built for another environment."},
      {StatusCode::kInternal, "InternalError", nullptr, "A kiln bug."},
      {StatusCode::kCancelled, "CancelledError", nullptr, "Work stopped before it finished."},
  };
  g_classes.fill(base);
  for (const ErrorClass& c : classes) {
    nb::object bases = c.builtin ? nb::make_tuple(nb::handle(base), nb::handle(c.builtin))
                                 : nb::make_tuple(nb::handle(base));
    const std::string qualified = std::string("kiln.") + c.name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), c.doc, bases.ptr(), nullptr);
    if (!cls) throw nb::python_error();
    m.attr(c.name) = nb::steal(cls);
    g_classes[static_cast<size_t>(c.code)] = cls;
  }
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const StatusError& e) {
      PyErr_SetString(g_classes[static_cast<size_t>(e.code())], e.what());
    }
  });
}

}  // namespace kiln::python
