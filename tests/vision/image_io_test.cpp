#include "vision/image_io.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <fstream>
#include <tuple>

#include "core/file_util.h"
#include "cv2_reference.h"
#include "support/test_support.h"

namespace kiln::vision {
namespace {

namespace fs = std::filesystem;

// `scratch` comes from one temp_dir() call per test (each call empties the folder).
void expect_same_as_cv2_imread(const fs::path& path, const fs::path& scratch) {
  auto got = decode_image(path);
  ASSERT_TRUE(got.ok()) << got.status().message();
  auto ref = test::run_ref("imread '" + path.string() + "' '" + (scratch / "ref.raw").string() + "'", scratch / "ref.raw");
  ASSERT_TRUE(ref.has_value()) << "cv2 reference tool failed";
  ASSERT_EQ(got->width, ref->width);
  ASSERT_EQ(got->height, ref->height);
  EXPECT_EQ(test::count_differing_pixels(*got, *ref), 0u) << path << ": pixels differ from cv2.imread";
}

TEST(ImageIo, JpegDecodeMatchesCv2Imread) {
  KILN_REQUIRE_ASSETS();
  fs::path scratch = kiln::test::temp_dir();
  for (const char* name : {"bus.jpg", "zidane.jpg", "kite.jpg", "dog.jpg", "person.jpg"})
    expect_same_as_cv2_imread(kiln::test::asset(std::string("images/") + name), scratch);
}

TEST(ImageIo, PngDecodeMatchesCv2Imread) {
  fs::path scratch = kiln::test::temp_dir();
  fs::path png = scratch / "made.png";
  ASSERT_TRUE(test::make_png(png, 333, 251, 7));
  expect_same_as_cv2_imread(png, scratch);
}

TEST(ImageIo, SizeAndChannelOrder) {
  KILN_REQUIRE_ASSETS();
  auto img = decode_image(kiln::test::asset("images/bus.jpg"));
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->width, 810);
  EXPECT_EQ(img->height, 1080);
}

TEST(ImageIo, TruncatedJpegIsCorrupt) {
  KILN_REQUIRE_ASSETS();
  auto bytes = read_file(kiln::test::asset("images/bus.jpg"));
  ASSERT_TRUE(bytes.ok());
  for (size_t keep : {size_t{2000}, bytes->size() / 2, size_t{4}}) {
    std::vector<uint8_t> cut(bytes->begin(), bytes->begin() + static_cast<long>(keep));
    auto img = decode_image_bytes(cut, "cut.jpg");
    ASSERT_FALSE(img.ok()) << "kept " << keep << " bytes";
    EXPECT_EQ(img.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(img.status().message().find("cut.jpg: not a decodable image ("), std::string::npos)
        << img.status().message();
  }
}

TEST(ImageIo, GarbageAfterJpegMagicIsCorrupt) {
  std::vector<uint8_t> bytes = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F'};
  bytes.resize(600, 0x5A);
  auto img = decode_image_bytes(bytes, "garbage.jpg");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::kCorrupt);
}

TEST(ImageIo, TextFileAndEmptyFileAreCorrupt) {
  fs::path dir = kiln::test::temp_dir();
  std::ofstream(dir / "notes.jpg") << "this is not a JPEG\n";
  std::ofstream(dir / "empty.png");
  for (const char* name : {"notes.jpg", "empty.png"}) {
    auto img = decode_image(dir / name);
    ASSERT_FALSE(img.ok()) << name;
    EXPECT_EQ(img.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(img.status().message().find((dir / name).string() + ": not a decodable image"), std::string::npos)
        << img.status().message();
  }
}

TEST(ImageIo, MissingFileIsNotFound) {
  auto img = decode_image(kiln::test::temp_dir() / "nope.jpg");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), StatusCode::kNotFound);
}

TEST(ImageIo, SaveJpegRoundTrips) {
  Image img(64, 48);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      uint8_t* p = img.row(y) + 3 * x;
      p[0] = 200, p[1] = static_cast<uint8_t>(x * 4), p[2] = 30;  // B G R
    }
  fs::path out = kiln::test::temp_dir() / "saved.jpg";
  ASSERT_TRUE(save_jpeg(out, img, 95).ok());
  auto back = decode_image(out);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->width, 64);
  ASSERT_EQ(back->height, 48);
  int worst = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) worst = std::max(worst, std::abs(img.pixels[i] - back->pixels[i]));
  EXPECT_LE(worst, 12) << "JPEG round trip changed a channel by " << worst;
}

// cv2.imread turns a JPEG upright by its EXIF orientation (as do Ultralytics' loaders); a
// non-square image tells every one of the 8 orientations apart. One Python run writes the
// 8 JPEGs (Pillow) and what cv2.imread makes of each.
TEST(ImageIo, JpegExifOrientationMatchesCv2Imread) {
  fs::path scratch = kiln::test::temp_dir();
  ASSERT_TRUE(test::make_exif_jpegs(scratch, 37, 23));
  for (int orientation = 1; orientation <= 8; ++orientation) {
    SCOPED_TRACE("orientation " + std::to_string(orientation));
    const std::string stem = "exif" + std::to_string(orientation);
    auto got = decode_image(scratch / (stem + ".jpg"));
    ASSERT_TRUE(got.ok()) << got.status().message();
    auto ref = test::read_raw(scratch / (stem + ".raw"));
    ASSERT_TRUE(ref.has_value());
    ASSERT_EQ(got->width, orientation >= 5 ? 23 : 37);
    ASSERT_EQ(got->width, ref->width);
    ASSERT_EQ(got->height, ref->height);
    EXPECT_EQ(test::count_differing_pixels(*got, *ref), 0u);
    auto size = read_image_size(scratch / (stem + ".jpg"));
    ASSERT_TRUE(size.ok()) << size.status().message();
    EXPECT_EQ(size->width, ref->width);
    EXPECT_EQ(size->height, ref->height);
  }
}

// Peak resident memory of this process so far, in MiB.
long peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

void put_be16(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 8), b[at + 1] = static_cast<uint8_t>(v);
}

// A few-KB file whose header claims 20000 x 20000 pixels (1.2 GB decoded) is refused from
// its header, for every format (one limit for all), before any pixel memory is allocated.
TEST(ImageIo, HeaderClaimingTooManyPixelsIsRefusedBeforeAllocating) {
  fs::path scratch = kiln::test::temp_dir();
  Image small(32, 24, 128);
  ASSERT_TRUE(save_jpeg(scratch / "small.jpg", small).ok());
  std::vector<uint8_t> jpeg = std::move(read_file(scratch / "small.jpg")).value();
  size_t sof = 0;
  for (size_t i = 2; i + 9 < jpeg.size() && !sof; ++i)
    if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2)) sof = i;
  ASSERT_NE(sof, 0u);
  put_be16(jpeg, sof + 5, 20000);  // height
  put_be16(jpeg, sof + 7, 20000);  // width

  ASSERT_TRUE(test::make_png(scratch / "small.png", 32, 24, 1));
  std::vector<uint8_t> png = std::move(read_file(scratch / "small.png")).value();
  // 17000 x 17000: under stb_image's own limit (1 GiB of RGB), over kiln's.
  put_be16(png, 18, 17000);  // IHDR width (big-endian uint32 at 16)
  put_be16(png, 22, 17000);  // IHDR height

  const long before = peak_rss_mib();
  for (const auto& [bytes, name, size] : {std::tuple{jpeg, "big.jpg", "20000x20000"}, std::tuple{png, "big.png", "17000x17000"}}) {
    ASSERT_LT(bytes.size(), 4096u);
    auto img = decode_image_bytes(bytes, name);
    ASSERT_FALSE(img.ok()) << name;
    EXPECT_EQ(img.status().message(), std::string(name) + ": image of " + size +
                                          " pixels is larger than kiln's limit of 268435456 pixels");
  }
  EXPECT_LT(peak_rss_mib() - before, 64) << "decoding allocated for the claimed size";
}

// A 24-bit BI_RGB BMP of w x h, rows bottom-up, every pixel (b, g, r) = (10, 20, 30).
std::vector<uint8_t> bmp24(int w, int h) {
  const uint32_t stride = (static_cast<uint32_t>(w) * 24 + 31) / 32 * 4, data = stride * static_cast<uint32_t>(h);
  std::vector<uint8_t> b(54 + data, 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  b[0] = 'B', b[1] = 'M';
  put32(2, static_cast<uint32_t>(b.size()));
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  b[26] = 1, b[28] = 24;
  put32(34, data);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &b[54 + y * stride + x * 3];
      p[0] = 10, p[1] = 20, p[2] = 30;
    }
  return b;
}

TEST(ImageIo, TruncatedUncompressedBmpIsCorruptNotZeroFilled) {
  const std::vector<uint8_t> whole = bmp24(5, 3);
  auto img = decode_image_bytes(whole, "ok.bmp");
  ASSERT_TRUE(img.ok()) << img.status().message();
  EXPECT_EQ(img->width, 5);
  EXPECT_EQ(img->pixels[0], 10);
  EXPECT_EQ(img->pixels[2], 30);

  const std::vector<uint8_t> cut(whole.begin(), whole.end() - 16);
  auto bad = decode_image_bytes(cut, "cut.bmp");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(bad.status().message().find("truncated BMP: 86 bytes, its 5x3 pixels need 102"), std::string::npos)
      << bad.status().message();

  // The header of a fuzzed 441-byte file: 43824 x 1536 pixels (under the pixel limit), no data.
  std::vector<uint8_t> tiny = bmp24(1, 1);
  tiny.resize(441, 0);
  tiny[18] = 0x30, tiny[19] = 0xab, tiny[20] = 0, tiny[21] = 0;  // width 43824
  tiny[22] = 0x00, tiny[23] = 0x06, tiny[24] = 0, tiny[25] = 0;  // height 1536
  const long before = peak_rss_mib();
  auto huge = decode_image_bytes(tiny, "claims.bmp");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("truncated BMP"), std::string::npos) << huge.status().message();
  EXPECT_LT(peak_rss_mib() - before, 64) << "decoding allocated for the claimed size";

  // A fuzzed 30-byte file: a 108-byte header cut at 30 bytes, claiming 247 x 524492 pixels.
  const std::vector<uint8_t> cut_header = {0x42, 0x4d, 0x76, 0x14, 0, 0, 0, 0x16, 0, 0,    0,    0, 0, 0, 0x6c,
                                           0,    0,    0,    0xf7, 0, 0, 0, 0xcc, 0, 0x08, 0, 0x01, 0, 0x01, 0};
  auto header_only = decode_image_bytes(cut_header, "header.bmp");
  ASSERT_FALSE(header_only.ok());
  EXPECT_NE(header_only.status().message().find("truncated BMP: 30 bytes, its header alone needs 122"),
            std::string::npos)
      << header_only.status().message();
  EXPECT_LT(peak_rss_mib() - before, 64) << "decoding allocated for the claimed size";

  // A compression value stb_image does not know is decoded as uncompressed: checked the same.
  tiny[30] = 0x00, tiny[31] = 0x00, tiny[32] = 0x00, tiny[33] = 0xfc;
  auto odd = decode_image_bytes(tiny, "odd.bmp");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("truncated BMP"), std::string::npos) << odd.status().message();
}

// A PNG chunk is a 4-byte big-endian length, a 4-byte type, the data and a CRC.
void png_chunk(std::vector<uint8_t>& out, const char* type, std::vector<uint8_t> data, uint32_t claimed) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(claimed >> shift));
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  out.insert(out.end(), 4, 0);  // CRC: stb_image does not check it
}

// A fuzzed 2,332-byte PNG made stb_image allocate 2 GiB: it grows its IDAT buffer to the
// length a chunk claims before reading the chunk's data. Every chunk must fit in the file.
TEST(ImageIo, PngChunkLongerThanTheFileIsCorruptBeforeAnyAllocation) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  png_chunk(png, "IHDR", {0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0}, 13);  // 1x1, 8-bit grey
  std::vector<uint8_t> whole = png;
  png_chunk(whole, "IDAT", {0x78, 0x01, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01}, 10);  // zlib of {0, 0}
  png_chunk(whole, "IEND", {}, 0);
  auto ok = decode_image_bytes(whole, "ok.png");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->width, 1);

  std::vector<uint8_t> claims = png;
  png_chunk(claims, "IDAT", {0x78, 0x01, 0x63}, 0x7fffff00);  // 2 GiB claimed, 3 bytes there
  auto bad = decode_image_bytes(claims, "claims.png");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(bad.status().message(),
            "claims.png: not a decodable image (truncated PNG: chunk IDAT at byte 33 claims 2147483392 bytes, 7 "
            "are left)");
  // A chunk header cut short is truncation too.
  const std::vector<uint8_t> cut(whole.begin(), whole.begin() + 36);
  auto short_header = decode_image_bytes(cut, "cut.png");
  ASSERT_FALSE(short_header.ok());
  EXPECT_NE(short_header.status().message().find("truncated PNG"), std::string::npos) << short_header.status().message();
}

// A fuzzed 97-byte BMP claimed 0 x 377767511 pixels: stb_image decoded it, walking every
// empty row, and kiln predict then said "image 0: image is empty" without the file's name.
TEST(ImageIo, HeaderOfNoPixelsIsCorrupt) {
  std::vector<uint8_t> bmp = bmp24(5, 3);
  for (int i = 0; i < 4; ++i) bmp[18 + i] = 0;  // width 0
  auto bad = decode_image_bytes(bmp, "empty.bmp");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(bad.status().message(), "empty.bmp: not a decodable image (no pixels: 0x3)");
}

// A fuzzed 1,975-byte PNG claimed 4194340 x 48 16-bit grey pixels (under the pixel limit):
// stb_image allocated 400 MB and decoded for over a second before finding the data short.
// Deflate inflates a byte to at most 1032, so the IDAT bytes bound the pixels they can hold.
TEST(ImageIo, PngWithTooLittleDataForItsPixelsIsCorruptBeforeDecoding) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  png_chunk(png, "IHDR", {0x00, 0x40, 0x00, 0x24, 0, 0, 0, 48, 16, 0, 0, 0, 0}, 13);  // 4194340 x 48, grey 16
  png_chunk(png, "IDAT", std::vector<uint8_t>(1900, 0x55), 1900);
  png_chunk(png, "IEND", {}, 0);
  const long before = peak_rss_mib();
  auto bad = decode_image_bytes(png, "short.png");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(bad.status().message(),
            "short.png: not a decodable image (truncated PNG: 1900 bytes of image data cannot hold its 4194340x48 "
            "pixels)");
  EXPECT_LT(peak_rss_mib() - before, 64) << "decoding allocated for the claimed size";
}

// The header alone gives the decoded size, for every format, and the decoder's errors for
// files it cannot read.
TEST(ImageIo, ReadImageSizeEqualsTheDecodedSize) {
  fs::path scratch = kiln::test::temp_dir();
  std::vector<fs::path> files = {scratch / "made.png", scratch / "made.bmp", scratch / "made.jpg"};
  ASSERT_TRUE(test::make_png(files[0], 333, 251, 7));
  const std::vector<uint8_t> bmp = bmp24(5, 3);
  ASSERT_TRUE(write_file_atomic(files[1], bmp.data(), bmp.size()).ok());
  ASSERT_TRUE(save_jpeg(files[2], Image(41, 17, 9)).ok());
  if (fs::exists(kiln::test::asset("images")))
    for (const auto& e : fs::directory_iterator(kiln::test::asset("images"))) files.push_back(e.path());
  for (const auto& f : files) {
    auto image = decode_image(f);
    auto size = read_image_size(f);
    ASSERT_TRUE(image.ok() && size.ok()) << f;
    EXPECT_EQ(size->width, image->width) << f;
    EXPECT_EQ(size->height, image->height) << f;
  }
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  ASSERT_TRUE(write_file_atomic(scratch / "text.jpg", text.data(), text.size()).ok());
  auto bad = read_image_size(scratch / "text.jpg");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), (scratch / "text.jpg").string() + ": not a decodable image (unknown format)");
  EXPECT_EQ(read_image_size(scratch / "missing.jpg").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::vision
