// Runs tests/tools/vision_letterbox_ref.py (OpenCV) and reads back the pixels it wrote.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "vision/image_io.h"

namespace kiln::vision::test {

// Found beside this header (CMake compiles with absolute paths), so the tests do not
// depend on the environment ctest passes.
inline std::filesystem::path ref_tool() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "tools" / "vision_letterbox_ref.py";
}

// Runs the tool with `args`; the tool writes the raw image to `out` and prints "h w".
inline std::optional<Image> run_ref(const std::string& args, const std::filesystem::path& out) {
  std::filesystem::path shape_file = out;
  shape_file += ".shape";
  std::string cmd = "python3 '" + ref_tool().string() + "' " + args + " > '" + shape_file.string() + "'";
  if (std::system(cmd.c_str()) != 0) return std::nullopt;
  std::ifstream shape(shape_file);
  int h = 0, w = 0;
  shape >> h >> w;
  Image img(w, h);
  std::ifstream in(out, std::ios::binary);
  in.read(reinterpret_cast<char*>(img.pixels.data()), static_cast<std::streamsize>(img.pixels.size()));
  if (!in) return std::nullopt;
  return img;
}

// Writes a test PNG of w x h (smooth gradients plus noise) with OpenCV.
inline bool make_png(const std::filesystem::path& path, int w, int h, int seed) {
  std::string cmd = "python3 '" + ref_tool().string() + "' make_png '" + path.string() + "' " + std::to_string(w) +
                    " " + std::to_string(h) + " " + std::to_string(seed) + " > /dev/null";
  return std::system(cmd.c_str()) == 0 && std::filesystem::exists(path);
}

// Writes dir/exif<o>.jpg, w x h with EXIF orientation o = 1..8 (Pillow), and beside each
// dir/exif<o>.raw with what cv2.imread returns for it (read_raw reads it back).
inline bool make_exif_jpegs(const std::filesystem::path& dir, int w, int h) {
  std::string cmd = "python3 '" + ref_tool().string() + "' make_exif_jpegs '" + dir.string() + "' " + std::to_string(w) +
                    " " + std::to_string(h) + " > /dev/null";
  return std::system(cmd.c_str()) == 0 && std::filesystem::exists(dir / "exif8.raw");
}

// A raw BGR image and its "h w" in `<path>.shape`, as the tool writes them.
inline std::optional<Image> read_raw(const std::filesystem::path& path) {
  std::filesystem::path shape_file = path;
  shape_file += ".shape";
  std::ifstream shape(shape_file);
  int h = 0, w = 0;
  if (!(shape >> h >> w)) return std::nullopt;
  Image img(w, h);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(img.pixels.data()), static_cast<std::streamsize>(img.pixels.size()));
  if (!in) return std::nullopt;
  return img;
}

inline size_t count_differing_pixels(const Image& a, const Image& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.pixels.size(); i += 3)
    if (a.pixels[i] != b.pixels[i] || a.pixels[i + 1] != b.pixels[i + 1] || a.pixels[i + 2] != b.pixels[i + 2]) ++n;
  return n;
}

}  // namespace kiln::vision::test
