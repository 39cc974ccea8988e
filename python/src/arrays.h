// numpy arrays that own C++ buffers (moved in, freed with the array) and the image arrays
// the binding accepts (HWC uint8, 3 channels, C-contiguous, host memory).
#pragma once

#include <nanobind/ndarray.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace kiln::python {

using ImageArray = nanobind::ndarray<const uint8_t, nanobind::shape<-1, -1, 3>, nanobind::c_contig, nanobind::device::cpu>;

template <typename T>
nanobind::ndarray<nanobind::numpy, T> owned_array(std::vector<T>&& values, std::initializer_list<size_t> shape) {
  auto* heap = new std::vector<T>(std::move(values));
  heap->reserve(1);  // a non-null pointer for empty arrays
  nanobind::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nanobind::ndarray<nanobind::numpy, T>(heap->data(), shape, owner);
}

}  // namespace kiln::python
