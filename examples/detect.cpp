// detect MODEL IMAGE: prints one line per detection ("class_id confidence x1 y1 x2 y2") using
// only the installed kiln API (find_package(kiln), target kiln::kiln).
#include <cstdio>

#include "kiln/model.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: detect MODEL IMAGE\n");
    return 2;
  }
  auto model = kiln::Model::load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "detect: error: %s\n", model.status().message().c_str());
    return 2;
  }
  auto image = kiln::load_image(argv[2]);
  if (!image.ok()) {
    std::fprintf(stderr, "detect: error: %s\n", image.status().message().c_str());
    return 2;
  }
  auto prediction = model->predict(*image);
  if (!prediction.ok()) {
    std::fprintf(stderr, "detect: error: %s\n", prediction.status().message().c_str());
    return 2;
  }
  for (const kiln::Detection& d : prediction->boxes)
    std::printf("%d %.4f %.1f %.1f %.1f %.1f\n", d.class_id, d.confidence, d.box.x1, d.box.y1, d.box.x2, d.box.y2);
  return 0;
}
