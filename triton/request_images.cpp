#include "request_images.h"

#include <cstring>
#include <string>

#include "core/parallel_for.h"
#include "tensor_names.h"
#include "triton_status.h"

namespace kiln::triton {

namespace {

struct InputTensor {
  std::string name;
  TRITONSERVER_DataType dtype = TRITONSERVER_TYPE_INVALID;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The request's only input, its bytes contiguous in host memory (copied into `gathered`
// when Triton holds them in several buffers).
Result<InputTensor> only_input(TRITONBACKEND_Request* request, std::vector<uint8_t>& gathered) {
  uint32_t count = 0;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_RequestInputCount(request, &count)));
  if (count != 1)
    return error(StatusCode::kInvalidArgument, "a request needs exactly one input, ", kInputImage, " (encoded images), ",
                 kInputFrame, " (HWC uint8 BGR pixels) or ", kInputTensor, " (preprocessed NCHW float32); got ", count);
  TRITONBACKEND_Input* input = nullptr;
  KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_RequestInputByIndex(request, 0, &input)));
  const char* name = nullptr;
  const int64_t* shape = nullptr;
  uint32_t dims = 0, buffers = 0;
  uint64_t byte_size = 0;
  InputTensor t;
  KILN_RETURN_IF_ERROR(
      from_triton(TRITONBACKEND_InputProperties(input, &name, &t.dtype, &shape, &dims, &byte_size, &buffers)));
  t.name = name;
  t.shape.assign(shape, shape + dims);
  gathered.clear();
  for (uint32_t b = 0; b < buffers; ++b) {
    const void* data = nullptr;
    uint64_t size = 0;
    TRITONSERVER_MemoryType type = TRITONSERVER_MEMORY_CPU;
    int64_t type_id = 0;
    KILN_RETURN_IF_ERROR(from_triton(TRITONBACKEND_InputBuffer(input, b, &data, &size, &type, &type_id)));
    if (type == TRITONSERVER_MEMORY_GPU)
      return error(StatusCode::kUnsupported, t.name, ": input in GPU memory is not supported (send it in host memory)");
    const auto* p = static_cast<const uint8_t*>(data);
    if (buffers == 1) {
      t.bytes = {p, size};
      return t;
    }
    gathered.insert(gathered.end(), p, p + size);
  }
  t.bytes = gathered;
  return t;
}

// BYTES wire format: per element a 4-byte little-endian length, then that many bytes.
Result<std::vector<std::span<const uint8_t>>> split_bytes_tensor(std::span<const uint8_t> data, int64_t elements) {
  std::vector<std::span<const uint8_t>> out;
  size_t pos = 0;
  for (int64_t i = 0; i < elements; ++i) {
    if (data.size() - pos < 4)
      return error(StatusCode::kInvalidArgument, kInputImage, "[", i, "]: truncated (no 4-byte length)");
    const uint32_t len = static_cast<uint32_t>(data[pos]) | static_cast<uint32_t>(data[pos + 1]) << 8 |
                         static_cast<uint32_t>(data[pos + 2]) << 16 | static_cast<uint32_t>(data[pos + 3]) << 24;
    pos += 4;
    if (data.size() - pos < len)
      return error(StatusCode::kInvalidArgument, kInputImage, "[", i, "]: length ", len, " runs past the tensor's ",
                   data.size(), " bytes");
    out.push_back(data.subspan(pos, len));
    pos += len;
  }
  if (pos != data.size())
    return error(StatusCode::kInvalidArgument, kInputImage, ": ", data.size() - pos, " bytes after its ", elements,
                 " elements");
  return out;
}

Status read_encoded(const InputTensor& t, RequestImages& out) {
  if (t.dtype != TRITONSERVER_TYPE_BYTES)
    return error(StatusCode::kInvalidArgument, kInputImage, " must be BYTES (encoded images)");
  if (t.shape.size() != 2 || t.shape[1] != 1)
    return error(StatusCode::kInvalidArgument, kInputImage, " must have shape [N, 1], got ", shape_text(t.shape));
  KILN_ASSIGN_OR_RETURN(out.encoded, split_bytes_tensor(t.bytes, t.shape[0]));
  return Status::Ok();
}

Status read_frames(const InputTensor& t, RequestImages& out) {
  if (t.dtype != TRITONSERVER_TYPE_UINT8)
    return error(StatusCode::kInvalidArgument, kInputFrame, " must be UINT8 (HWC BGR pixels)");
  if (t.shape.size() != 4 || t.shape[1] < 1 || t.shape[2] < 1 || t.shape[3] != 3)
    return error(StatusCode::kInvalidArgument, kInputFrame, " must have shape [N, H, W, 3] with H, W >= 1, got ",
                 shape_text(t.shape));
  const uint64_t per_frame = static_cast<uint64_t>(t.shape[1]) * t.shape[2] * 3;
  if (t.bytes.size() != per_frame * t.shape[0])
    return error(StatusCode::kInvalidArgument, kInputFrame, " ", shape_text(t.shape), " needs ", per_frame * t.shape[0],
                 " bytes, got ", t.bytes.size());
  for (int64_t i = 0; i < t.shape[0]; ++i)
    out.views.push_back({static_cast<int>(t.shape[2]), static_cast<int>(t.shape[1]), t.bytes.data() + i * per_frame,
                         false});
  return Status::Ok();
}

Status read_tensor(const InputTensor& t, RequestImages& out) {
  if (t.dtype != TRITONSERVER_TYPE_FP32)
    return error(StatusCode::kInvalidArgument, kInputTensor, " must be FP32 (preprocessed NCHW, RGB in [0, 1])");
  if (t.shape.size() != 4 || t.shape[1] != 3 || t.shape[2] < 1 || t.shape[3] < 1)
    return error(StatusCode::kInvalidArgument, kInputTensor, " must have shape [N, 3, H, W] with H, W >= 1, got ",
                 shape_text(t.shape));
  const uint64_t values = static_cast<uint64_t>(t.shape[0]) * 3 * t.shape[2] * t.shape[3];
  if (t.bytes.size() != values * sizeof(float))
    return error(StatusCode::kInvalidArgument, kInputTensor, " ", shape_text(t.shape), " needs ", values * sizeof(float),
                 " bytes, got ", t.bytes.size());
  out.tensor.shape = t.shape;
  out.tensor.data.resize(values);
  std::memcpy(out.tensor.data.data(), t.bytes.data(), t.bytes.size());
  return Status::Ok();
}

}  // namespace

Result<RequestImages> read_request_images(TRITONBACKEND_Request* request) {
  RequestImages out;
  KILN_ASSIGN_OR_RETURN(InputTensor t, only_input(request, out.gathered));
  if (t.shape.empty() || t.shape[0] < 1)
    return error(StatusCode::kInvalidArgument, t.name, ": no batch dimension (shape ", shape_text(t.shape), ")");
  if (t.name == kInputImage) {
    KILN_RETURN_IF_ERROR(read_encoded(t, out));
  } else if (t.name == kInputFrame) {
    KILN_RETURN_IF_ERROR(read_frames(t, out));
  } else if (t.name == kInputTensor) {
    KILN_RETURN_IF_ERROR(read_tensor(t, out));
  } else {
    return error(StatusCode::kInvalidArgument, "unknown input '", t.name, "' (expected ", kInputImage, ", ", kInputFrame,
                 " or ", kInputTensor, ")");
  }
  return out;
}

std::vector<Status> decode_request_images(std::span<std::optional<RequestImages>> requests) {
  // Every encoded image of every request, decoded side by side.
  struct Element {
    size_t request, index;
  };
  std::vector<Element> elements;
  for (size_t r = 0; r < requests.size(); ++r)
    if (requests[r])
      for (size_t i = 0; i < requests[r]->encoded.size(); ++i) elements.push_back({r, i});
  std::vector<Result<Image>> images(elements.size(), Image{});
  core::parallel_for(elements.size(), [&](size_t e) {
    const Element& el = elements[e];
    images[e] = decode_image(requests[el.request]->encoded[el.index],
                             std::string(kInputImage) + "[" + std::to_string(el.index) + "]");
  });
  // A request with an undecodable image fails with its first such image's error.
  std::vector<Status> out(requests.size());
  for (size_t e = 0; e < elements.size(); ++e) {
    Status& st = out[elements[e].request];
    RequestImages& request = *requests[elements[e].request];
    if (!st.ok()) continue;
    st = images[e].status();
    if (st.ok()) request.decoded.push_back(std::move(images[e]).value());
  }
  for (size_t r = 0; r < requests.size(); ++r)
    if (requests[r] && out[r].ok())
      for (const Image& image : requests[r]->decoded) requests[r]->views.push_back(view_of(image));
  return out;
}

}  // namespace kiln::triton
