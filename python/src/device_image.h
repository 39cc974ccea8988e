// A CUDA tensor (DLPack, e.g. torch or CuPy) passed to predict as a device frame without a
// copy: HWC uint8 BGR with 3 channels, as the numpy path takes, its rows `pitch` bytes apart.
//
// Streams: the binding asks the producer for its capsule with `__dlpack__(stream=1)`, the
// DLPack protocol's name for CUDA's legacy default stream, so the producer orders that stream
// after the work that wrote the pixels; the frame is handed to kiln on that stream
// (Frame::stream = nullptr). predict returns once its results are on the host, after which
// the producer may overwrite or free the tensor.
#pragma once

#include <nanobind/ndarray.h>

#include <cstdint>

#include "kiln/frame.h"

namespace kiln::python {

struct DeviceImage {
  nanobind::ndarray<nanobind::ro> array;  // holds the producer's capsule, so its memory stays alive
  int index = 0;                          // its position in the source, for messages
  int height = 0, width = 0;
  size_t pitch = 0;                       // bytes from one row to the next

  int device() const { return array.device_id(); }
  Frame frame() const;
};

}  // namespace kiln::python
