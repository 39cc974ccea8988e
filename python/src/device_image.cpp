// kiln._kiln.DeviceImage: a CUDA DLPack tensor checked once (layout, dtype, strides) and
// held as a device frame for Model.predict_device (device_image.h says how streams are used).
#include "device_image.h"

#include <climits>
#include <string>

#include "bindings.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kiln::python {

namespace {

constexpr int kDlpackLegacyDefaultStream = 1;  // the DLPack protocol's value for CUDA's stream 0

std::string dtype_name(nb::dlpack::dtype t) {
  using Code = nb::dlpack::dtype_code;
  const std::string kind = t.code == static_cast<uint8_t>(Code::Int)      ? "int"
                     : t.code == static_cast<uint8_t>(Code::UInt)   ? "uint"
                     : t.code == static_cast<uint8_t>(Code::Float)  ? "float"
                     : t.code == static_cast<uint8_t>(Code::Bfloat) ? "bfloat"
                     : t.code == static_cast<uint8_t>(Code::Bool)   ? "bool"
                                                                     : "code" + std::to_string(t.code) + "_";
  std::string name = kind + std::to_string(t.bits);
  return t.lanes == 1 ? name : name + "x" + std::to_string(t.lanes);
}

// As Python writes a tuple: "(480, 640, 3)", "(5,)".
template <typename F>
std::string tuple_text(size_t n, F&& value) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(value(i));
  return s + (n == 1 ? ",)" : ")");
}

[[noreturn]] void refuse(int index, const std::string& problem) {
  throw StatusError(error(StatusCode::kInvalidArgument, "image ", index, ": ", problem));
}

DeviceImage device_image(nb::handle tensor, int index) {
  nb::object capsule = tensor.attr("__dlpack__")("stream"_a = kDlpackLegacyDefaultStream);
  DeviceImage image;
  if (!nb::try_cast(capsule, image.array)) refuse(index, "__dlpack__() returned no DLPack capsule");
  const auto& a = image.array;
  image.index = index;
  if (a.device_type() != nb::device::cuda::value)
    refuse(index, "__dlpack_device__() says CUDA, but the tensor's DLPack device type is " +
                      std::to_string(a.device_type()));
  const std::string shape = tuple_text(a.ndim(), [&](size_t i) { return a.shape(i); });
  const nb::dlpack::dtype u8 = nb::dtype<uint8_t>();
  if (a.dtype() != u8 || a.ndim() != 3 || a.shape(2) != 3)
    refuse(index, "expected an HWC BGR uint8 tensor with 3 channels, got " + dtype_name(a.dtype()) + " " + shape);
  if (a.shape(0) == 0 || a.shape(1) == 0) refuse(index, "empty image " + shape);
  if (a.shape(0) > INT_MAX || a.shape(1) > INT_MAX) refuse(index, "image too large " + shape);
  image.height = static_cast<int>(a.shape(0));
  image.width = static_cast<int>(a.shape(1));
  // Rows may be padded (a crop of a larger image), pixels and channels may not.
  if (a.stride(2) != 1 || a.stride(1) != 3 || a.stride(0) < 3 * static_cast<int64_t>(image.width))
    refuse(index, "a CUDA tensor must hold packed BGR rows, strides (>= 3 * width, 3, 1); got shape " + shape +
                      " strides " + tuple_text(3, [&](size_t i) { return a.stride(i); }) +
                      " (pass tensor.contiguous())");
  image.pitch = static_cast<size_t>(a.stride(0));
  return image;
}

}  // namespace

Frame DeviceImage::frame() const {
  Frame f;
  f.width = width;
  f.height = height;
  f.format = PixelFormat::kBgr;
  f.memory = FrameMemory::kDevice;
  f.planes[0] = static_cast<const uint8_t*>(array.data());
  f.pitch[0] = pitch;
  f.stream = nullptr;  // the legacy default stream, which __dlpack__(stream=1) ordered after the pixels
  return f;
}

void bind_device_image(nb::module_& m) {
  nb::class_<DeviceImage>(m, "DeviceImage",
                          "A CUDA tensor (DLPack: torch, CuPy) as a device frame: HWC BGR uint8, 3 channels, packed "
                          "rows. Its pixels are read where they are, on CUDA's legacy default stream, which "
                          "__dlpack__(stream=1) asks the producer to order after the work that wrote them.")
      .def("__init__", [](DeviceImage* self, nb::handle tensor, int index) {
             new (self) DeviceImage(device_image(tensor, index));
           }, "tensor"_a, "index"_a = 0)
      .def_prop_ro("shape", [](const DeviceImage& d) { return nb::make_tuple(d.height, d.width, 3); },
                   "(height, width, 3)")
      .def_prop_ro("device", &DeviceImage::device, "The CUDA device id the pixels are on")
      .def_ro("pitch", &DeviceImage::pitch, "Bytes from one row to the next");
}

}  // namespace kiln::python
