// What `predict(source)` reads: list_sources expands a path, folder or glob as `kiln predict
// --source` does (images first, then videos, sorted), and VideoReader yields a video's frames.
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <nanobind/stl/pair.h>

#include "arrays.h"
#include "bindings.h"
#include "video/input_sources.h"
#include "video/video_io.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kiln::python {

void bind_sources(nb::module_& m) {
  m.def("list_sources", [](const std::string& source) {
    video::InputSources s = value_or_throw(video::list_input_sources(source));
    std::vector<std::string> images, videos;
    for (const auto& p : s.images) images.push_back(p.string());
    for (const video::VideoSource& v : s.videos) videos.push_back(v.locator);
    return std::make_pair(images, videos);
  }, "source"_a, "(images, videos) that a path, folder or glob names");

  nb::class_<video::VideoReader>(m, "VideoReader", "A video's frames as HWC BGR uint8 arrays (FFmpeg)")
      .def("__init__", [](video::VideoReader* self, const std::filesystem::path& path) {
        new (self) video::VideoReader(without_gil([&] { return video::VideoReader::open(path); }));
      }, "path"_a)
      .def_prop_ro("width", [](const video::VideoReader& r) { return r.info().width; })
      .def_prop_ro("height", [](const video::VideoReader& r) { return r.info().height; })
      .def_prop_ro("fps", [](const video::VideoReader& r) { return r.info().frame_rate.fps(); })
      .def_prop_ro("frame_count", [](const video::VideoReader& r) { return r.info().frame_count; },
                   "As the container declares it; 0 when it does not say")
      .def("read", [](video::VideoReader& r) -> nb::object {
        std::vector<uint8_t> bgr;
        if (!without_gil([&] { return r.read(bgr); })) return nb::none();
        const size_t h = r.info().height, w = r.info().width;
        return nb::cast(owned_array(std::move(bgr), {h, w, 3}));
      }, "The next frame, or None at the end");
}

}  // namespace kiln::python
