#include "vision/image_io.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>

#include "core/file_util.h"
#include "vision/exif_orientation.h"

// stb_image (compiled in stb_image_impl.cpp) decodes PNG and BMP only; JPEG goes through
// libjpeg to match cv2.imread.
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#include "stb_image.h"

namespace kiln::vision {

namespace fs = std::filesystem;

namespace {

Status not_decodable(const std::string& name, const std::string& reason) {
  return error(StatusCode::kCorrupt, name, ": not a decodable image (", reason, ")");
}

// Checked on the header's dimensions, before the decoder allocates anything for the pixels.
// A header of no pixels is damage too: stb_image takes a BMP 0 pixels wide and 377 million
// rows high, and walks every empty row.
Status check_pixel_count(const std::string& name, uint64_t width, uint64_t height) {
  if (width == 0 || height == 0)
    return not_decodable(name, "no pixels: " + std::to_string(width) + "x" + std::to_string(height));
  if (width * height <= kMaxImagePixels) return Status::Ok();
  return error(StatusCode::kInvalidArgument, name, ": image of ", width, "x", height, " pixels is larger than kiln's limit of ",
               kMaxImagePixels, " pixels");
}

// libjpeg's default error_exit calls exit(); this one jumps back to the decoder instead.
// A premature end of data is only a warning to libjpeg (it pads with gray), but for kiln
// a truncated file is corrupt, so that warning is recorded and turned into an error.
struct JpegErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool truncated = false;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = true;
}

// OpenCV's CMYK -> BGR (icvCvt_CMYK2BGR_8u_C4C3R), for Adobe CMYK/YCCK JPEGs.
void cmyk_row_to_bgr(const uint8_t* cmyk, uint8_t* bgr, int width) {
  for (int i = 0; i < width; ++i, cmyk += 4, bgr += 3) {
    int k = cmyk[3];
    bgr[2] = static_cast<uint8_t>(k - ((255 - cmyk[0]) * k >> 8));
    bgr[1] = static_cast<uint8_t>(k - ((255 - cmyk[1]) * k >> 8));
    bgr[0] = static_cast<uint8_t>(k - ((255 - cmyk[2]) * k >> 8));
  }
}

// Sets up `cinfo` on `bytes` and reads the header, keeping the EXIF segment. libjpeg's errors
// jump to the setjmp of the caller (init_jpeg_errors set up the jump).
void begin_jpeg(jpeg_decompress_struct& cinfo, std::span<const uint8_t> bytes) {
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);  // EXIF
  jpeg_read_header(&cinfo, TRUE);
}

int jpeg_orientation(const jpeg_decompress_struct& cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1)
      if (int orientation = exif_orientation({m->data, m->data_length}); orientation != 1) return orientation;
  return 1;
}

void init_jpeg_errors(jpeg_decompress_struct& cinfo, JpegErrorManager& err) {
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jpeg_error_exit;
  err.pub.emit_message = jpeg_emit_message;
}

Result<ImageSize> jpeg_size(std::span<const uint8_t> bytes, const std::string& name) {
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
  init_jpeg_errors(cinfo, err);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return not_decodable(name, err.message);
  }
  begin_jpeg(cinfo, bytes);
  const uint64_t w = cinfo.image_width, h = cinfo.image_height;
  const int orientation = jpeg_orientation(cinfo);
  jpeg_destroy_decompress(&cinfo);
  KILN_RETURN_IF_ERROR(check_pixel_count(name, w, h));
  // Orientations 5-8 transpose the image.
  if (orientation >= 5 && orientation <= 8) return ImageSize{static_cast<int>(h), static_cast<int>(w)};
  return ImageSize{static_cast<int>(w), static_cast<int>(h)};
}

Result<Image> decode_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
  init_jpeg_errors(cinfo, err);
  // Everything the jump can skip over lives outside this frame's automatic objects
  // that have destructors, or is declared before setjmp and only assigned after.
  Image* image = new Image();
  std::vector<uint8_t>* cmyk_row = new std::vector<uint8_t>();
  auto cleanup = [&] {
    jpeg_destroy_decompress(&cinfo);
    delete cmyk_row;
  };
  if (setjmp(err.jump)) {
    cleanup();
    delete image;
    return not_decodable(name, err.message);
  }
  begin_jpeg(cinfo, bytes);
  if (Status size = check_pixel_count(name, cinfo.image_width, cinfo.image_height); !size.ok()) {
    cleanup();
    delete image;
    return size;
  }
  const int orientation = jpeg_orientation(cinfo);
  bool cmyk = cinfo.num_components == 4;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  jpeg_start_decompress(&cinfo);
  *image = Image(static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height));
  if (cmyk) cmyk_row->resize(static_cast<size_t>(cinfo.output_width) * 4);
  while (cinfo.output_scanline < cinfo.output_height) {
    int y = static_cast<int>(cinfo.output_scanline);
    JSAMPROW row = cmyk ? cmyk_row->data() : image->row(y);
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (cmyk) cmyk_row_to_bgr(cmyk_row->data(), image->row(y), image->width);
    if (err.truncated) break;
  }
  bool truncated = err.truncated;
  if (!truncated) jpeg_finish_decompress(&cinfo);
  cleanup();
  Image out = std::move(*image);
  delete image;
  if (truncated) return not_decodable(name, "premature end of JPEG data");
  apply_exif_orientation(out, orientation);
  return out;
}

uint32_t le32(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint32_t>(b[at]) | static_cast<uint32_t>(b[at + 1]) << 8 | static_cast<uint32_t>(b[at + 2]) << 16 |
         static_cast<uint32_t>(b[at + 3]) << 24;
}

// A BMP that stb_image decodes (anything but RLE, which it refuses; it takes an unknown
// compression value as uncompressed) holds its whole header and every row: a file shorter
// than either is truncated. stb_image reads zeros past the end, so a few hundred bytes
// claiming 40000 x 1500 pixels, or 30 bytes of a header claiming 247 x 524492, would decode
// into a large black image instead of an error.
Status check_bmp_complete(std::span<const uint8_t> bytes, const std::string& name, int w, int h) {
  const uint64_t header_end = bytes.size() < 18 ? 18 : 14 + static_cast<uint64_t>(le32(bytes, 14));
  if (bytes.size() < header_end)
    return not_decodable(name, "truncated BMP: " + std::to_string(bytes.size()) + " bytes, its header alone needs " +
                                   std::to_string(header_end));
  if (le32(bytes, 14) < 40) return Status::Ok();  // OS/2 headers: stb checks those
  const uint32_t compression = le32(bytes, 30);
  if (compression == 1 || compression == 2) return Status::Ok();  // RLE: stb_image refuses it
  const uint64_t bits = static_cast<uint64_t>(bytes[28]) | static_cast<uint64_t>(bytes[29]) << 8;
  const uint64_t stride = (static_cast<uint64_t>(w) * bits + 31) / 32 * 4;
  const uint64_t needed = static_cast<uint64_t>(le32(bytes, 10)) + stride * static_cast<uint64_t>(h);
  if (bytes.size() >= needed) return Status::Ok();
  return not_decodable(name, "truncated BMP: " + std::to_string(bytes.size()) + " bytes, its " + std::to_string(w) +
                                 "x" + std::to_string(h) + " pixels need " + std::to_string(needed));
}

uint32_t be32(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint32_t>(b[at]) << 24 | static_cast<uint32_t>(b[at + 1]) << 16 |
         static_cast<uint32_t>(b[at + 2]) << 8 | static_cast<uint32_t>(b[at + 3]);
}

// Deflate's largest expansion: one byte of compressed data makes at most 1032 bytes.
constexpr uint64_t kMaxDeflateRatio = 1032;

// Every PNG chunk (length, type, data, CRC) up to IEND lies inside the file. stb_image grows
// its IDAT buffer to the length a chunk claims before reading the data, so a 2 KB file
// claiming a 2 GiB chunk would allocate 2 GiB before failing. And the IDAT chunks together
// must be able to inflate to the header's pixels: stb_image allocates the whole image
// before it finds the data short, so a 2 KB file claiming 4194340 x 48 16-bit pixels took
// 400 MB and over a second.
Status check_png_chunks(std::span<const uint8_t> bytes, const std::string& name) {
  uint64_t idat_bytes = 0;
  for (size_t at = 8; at < bytes.size();) {
    const size_t left = bytes.size() - at;
    if (left < 12) return not_decodable(name, "truncated PNG: chunk header at byte " + std::to_string(at) + " cut short");
    const uint32_t length = be32(bytes, at);
    std::string type(reinterpret_cast<const char*>(bytes.data() + at + 4), 4);
    if (!std::all_of(type.begin(), type.end(), [](unsigned char c) { return std::isalpha(c); })) type = "?";
    if (length > left - 12)
      return not_decodable(name, "truncated PNG: chunk " + type + " at byte " + std::to_string(at) + " claims " +
                                     std::to_string(length) + " bytes, " + std::to_string(left - 8) + " are left");
    if (type == "IEND") break;
    if (type == "IDAT") idat_bytes += length;
    at += 12 + static_cast<size_t>(length);
  }
  // IHDR (stb_image has checked it): width, height, bit depth, colour type at bytes 16-25.
  static constexpr uint64_t kChannels[7] = {1, 0, 3, 1, 2, 0, 4};  // by colour type
  const uint64_t width = be32(bytes, 16), height = be32(bytes, 20), depth = bytes[24];
  const uint64_t channels = bytes[25] < 7 ? kChannels[bytes[25]] : 0;
  const uint64_t pixel_bytes = height * ((width * channels * depth + 7) / 8);  // filter bytes aside
  if (pixel_bytes <= idat_bytes * kMaxDeflateRatio) return Status::Ok();
  return not_decodable(name, "truncated PNG: " + std::to_string(idat_bytes) + " bytes of image data cannot hold its " +
                                 std::to_string(width) + "x" + std::to_string(height) + " pixels");
}

Result<ImageSize> stb_size(std::span<const uint8_t> bytes, const std::string& name) {
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels))
    return not_decodable(name, stbi_failure_reason());
  KILN_RETURN_IF_ERROR(check_pixel_count(name, static_cast<uint64_t>(w), static_cast<uint64_t>(h)));
  return ImageSize{w, h};
}

Result<Image> decode_with_stb(std::span<const uint8_t> bytes, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(ImageSize size, stb_size(bytes, name));
  int w = size.width, h = size.height, channels = 0;
  if (bytes[0] == 'B') KILN_RETURN_IF_ERROR(check_bmp_complete(bytes, name, w, h));
  if (bytes[0] == 0x89) KILN_RETURN_IF_ERROR(check_png_chunks(bytes, name));
  stbi_uc* rgb = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels, 3);
  if (!rgb) return not_decodable(name, stbi_failure_reason());
  Image image(w, h);
  const size_t n = static_cast<size_t>(w) * h;
  for (size_t i = 0; i < n; ++i) {
    image.pixels[3 * i + 0] = rgb[3 * i + 2];
    image.pixels[3 * i + 1] = rgb[3 * i + 1];
    image.pixels[3 * i + 2] = rgb[3 * i + 0];
  }
  stbi_image_free(rgb);
  return image;
}

bool starts_with(std::span<const uint8_t> bytes, std::initializer_list<uint8_t> magic) {
  return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}

enum class Format { kJpeg, kStb };

// The content decides the decoder, not the extension.
Result<Format> image_format(std::span<const uint8_t> bytes, const std::string& display_name) {
  if (bytes.empty()) return not_decodable(display_name, "empty file");
  if (bytes.size() > static_cast<size_t>(INT_MAX))  // stb_image takes an int length
    return error(StatusCode::kInvalidArgument, display_name, ": image file of ", bytes.size(), " bytes is over 2 GiB");
  if (starts_with(bytes, {0xFF, 0xD8, 0xFF})) return Format::kJpeg;
  if (starts_with(bytes, {0x89, 'P', 'N', 'G'}) || starts_with(bytes, {'B', 'M'})) return Format::kStb;
  return not_decodable(display_name, "unknown format");
}

}  // namespace

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

Result<Image> decode_image_bytes(std::span<const uint8_t> bytes, const std::string& display_name) {
  KILN_ASSIGN_OR_RETURN(Format format, image_format(bytes, display_name));
  return format == Format::kJpeg ? decode_jpeg(bytes, display_name) : decode_with_stb(bytes, display_name);
}

Result<Image> decode_image(const fs::path& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  return decode_image_bytes(bytes, path.string());
}

Result<ImageSize> read_image_size(const fs::path& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  const std::string name = path.string();
  KILN_ASSIGN_OR_RETURN(Format format, image_format(bytes, name));
  return format == Format::kJpeg ? jpeg_size(bytes, name) : stb_size(bytes, name);
}

Status save_jpeg(const fs::path& path, const Image& image, int quality) {
  jpeg_compress_struct cinfo;
  JpegErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jpeg_error_exit;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    return error(StatusCode::kInternal, path.string(), ": JPEG encoding failed (", err.message, ")");
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_EXT_BGR;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.row(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Status st = write_file_atomic(path, buffer, size);
  std::free(buffer);
  return st;
}

}  // namespace kiln::vision
