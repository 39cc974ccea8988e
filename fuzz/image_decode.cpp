// JPEG (libjpeg, EXIF orientation), PNG and BMP (stb_image) decoding of arbitrary bytes.
#include <cstdint>
#include <span>

#include "vision/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)kiln::vision::decode_image_bytes(std::span(data, size), "fuzz.img");
  return 0;
}
