// Ultralytics-format dataset reading: yaml forms, split lists, label files, and the val
// letterbox / rectangular shapes.
#include <gtest/gtest.h>

#include <fstream>

#include "eval/dataset.h"
#include "eval/val_letterbox.h"
#include "support/test_support.h"

namespace kiln::eval {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(EvalDataset, Coco128YamlWithPathDot) {
  KILN_REQUIRE_ASSETS();
  auto spec = load_dataset(test::asset("datasets/coco128/coco128.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->names.size(), 80u);
  EXPECT_EQ(spec->names[79], "toothbrush");
  ASSERT_EQ(spec->images.size(), 128u);
  EXPECT_EQ(spec->images.front().filename(), "000000000009.jpg");
  // 941 label rows, 12 of them exact duplicates that Ultralytics counts once: 929 instances.
  size_t total = 0;
  for (const auto& im : spec->images) {
    auto labels = load_labels(im, *spec);
    ASSERT_TRUE(labels.ok()) << labels.status().message();
    total += labels->size();
  }
  EXPECT_EQ(total, 929u);
}

TEST(EvalDataset, Coco8YamlWithNamesMap) {
  KILN_REQUIRE_ASSETS();
  auto spec = load_dataset(test::asset("datasets/coco8/coco8.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->names.size(), 80u);
  EXPECT_EQ(spec->names[0], "person");
  EXPECT_EQ(spec->images.size(), 4u);
  auto train = load_dataset(test::asset("datasets/coco8/coco8.yaml"), "train");
  ASSERT_TRUE(train.ok());
  EXPECT_EQ(train->images.size(), 4u);
}

TEST(EvalDataset, TxtListPolygonsMissingLabelsAndErrors) {
  const fs::path dir = test::temp_dir();
  write(dir / "ds/images/a.jpg", "x");
  write(dir / "ds/images/sub/b.png", "x");
  write(dir / "ds/images/notes.md", "x");
  write(dir / "ds/labels/a.txt", "1 0.5 0.5 0.2 0.4\n\n0 0.1 0.1 0.3 0.1 0.3 0.5\n1 0.5 0.5 0.2 0.4\n");
  write(dir / "ds/list.txt", "./images/sub/b.png\nimages/a.jpg\n");
  write(dir / "data.yaml", "path: ds\nval: list.txt\ntrain: images\nnames: [cat, dog]\n");
  auto spec = load_dataset(dir / "data.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  ASSERT_EQ(spec->images.size(), 2u);
  auto train = load_dataset(dir / "data.yaml", "train");
  ASSERT_TRUE(train.ok());
  EXPECT_EQ(train->images.size(), 2u);  // the folder, recursively; notes.md is not an image

  auto a = load_labels(dir / "ds/images/a.jpg", *spec);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_EQ(a->size(), 2u);  // the duplicate row counts once
  // Rows come sorted (class 0 polygon first): its bounding box.
  EXPECT_EQ((*a)[0].class_id, 0);
  EXPECT_NEAR((*a)[0].cx, 0.2f, 1e-6);
  EXPECT_NEAR((*a)[0].cy, 0.3f, 1e-6);
  EXPECT_NEAR((*a)[0].w, 0.2f, 1e-6);
  EXPECT_NEAR((*a)[0].h, 0.4f, 1e-6);
  auto b = load_labels(dir / "ds/images/sub/b.png", *spec);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());  // no label file: no objects

  write(dir / "ds/labels/a.txt", "2 0.5 0.5 0.2 0.4\n");
  auto bad = load_labels(dir / "ds/images/a.jpg", *spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("a.txt:1: class 2"), std::string::npos) << bad.status().message();
  write(dir / "ds/labels/a.txt", "0 0.5 0.5 0.2\n");
  EXPECT_FALSE(load_labels(dir / "ds/images/a.jpg", *spec).ok());
  write(dir / "ds/labels/a.txt", "0 0.5 1.5 0.2 0.1\n");
  EXPECT_FALSE(load_labels(dir / "ds/images/a.jpg", *spec).ok());

  write(dir / "nonames.yaml", "val: ds/images\n");
  EXPECT_FALSE(load_dataset(dir / "nonames.yaml").ok());
  write(dir / "nosplit.yaml", "names: [a]\nval: nowhere\n");
  auto missing = load_dataset(dir / "nosplit.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nowhere"), std::string::npos);
}

// The from-memory entries follow the same rules as the file readers: splits still resolve
// on disk, label rows parse line by line with the file's name and line in errors.
TEST(EvalDataset, ParseFromMemoryMatchesTheFiles) {
  const fs::path dir = test::temp_dir();
  write(dir / "images/a.jpg", "x");
  auto spec = parse_dataset("names: [cat, dog]\nval: images\n", dir / "data.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  ASSERT_EQ(spec->images.size(), 1u);
  EXPECT_EQ(spec->images[0].filename(), "a.jpg");
  EXPECT_EQ(parse_dataset("names: [a\n", dir / "data.yaml").status().code(), StatusCode::kCorrupt);

  const std::string rows = "1 0.5 0.5 0.2 0.4\r\n\n\t0 0.1 0.1 0.3 0.1 0.3 0.5";  // CRLF, tabs, no final newline
  write(dir / "labels/a.txt", rows);
  auto from_file = load_labels(dir / "images/a.jpg", *spec);
  auto from_memory = parse_labels(rows, dir / "labels/a.txt", *spec);
  ASSERT_TRUE(from_file.ok() && from_memory.ok()) << from_memory.status().message();
  ASSERT_EQ(from_memory->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*from_memory)[i].class_id, (*from_file)[i].class_id);
    EXPECT_EQ((*from_memory)[i].cx, (*from_file)[i].cx);
    EXPECT_EQ((*from_memory)[i].polygon, (*from_file)[i].polygon);
  }
  EXPECT_NEAR((*from_memory)[0].cx, 0.2f, 1e-6);  // the polygon's box, class 0 first

  auto bad = parse_labels("0 0.5 0.5 0.2 0.4\n\n0 0.5 x 0.2 0.4\n", "l.txt", *spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "l.txt:3: not a number: 'x'");
  // A NUL inside a number is not a number (strtof would stop at it and take the prefix).
  auto nul = parse_labels(std::string_view("0 0.5\0 0.5 0.2 0.4\n", 19), "l.txt", *spec);
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("l.txt:1: not a number"), std::string::npos);
}

TEST(EvalDataset, PoseLabelsKeepTheirKeypoints) {
  KILN_REQUIRE_ASSETS();
  auto spec = load_dataset(test::asset("datasets/coco8-pose/coco8-pose.yaml"));
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->kpt_count, 17);
  EXPECT_EQ(spec->kpt_dims, 3);
  size_t people = 0;
  for (const auto& im : spec->images) {
    auto labels = load_labels(im, *spec);
    ASSERT_TRUE(labels.ok()) << labels.status().message();
    for (const auto& l : *labels) EXPECT_EQ(l.keypoints.size(), 51u);
    people += labels->size();
  }
  EXPECT_EQ(people, 14u);
}

TEST(EvalDataset, LabelPathReplacesTheLastImagesFolder) {
  EXPECT_EQ(label_path_for("/d/images/x/images/train/a.jpg"), fs::path("/d/images/x/labels/train/a.txt"));
  EXPECT_EQ(label_path_for("/d/pics/a.jpg"), fs::path("/d/pics/a.txt"));
}

TEST(EvalLetterbox, UpscalesWithCeilThenPadsCentered) {
  // 460x312 at 640: r = 640/460, sides ceil(460r) = 640 and ceil(312r) = ceil(434.09) = 435;
  // then padded to 640x640: top = round(102.5 - 0.1) = 102.
  vision::Image im(460, 312, 200);
  ValInput in = val_letterbox(im, 640, 640, 640);
  EXPECT_EQ(in.resized_width, 640);
  EXPECT_EQ(in.resized_height, 435);
  EXPECT_EQ(in.pad_left, 0);
  EXPECT_EQ(in.pad_top, 102);
  ASSERT_EQ(in.image.width, 640);
  ASSERT_EQ(in.image.height, 640);
  EXPECT_EQ(in.image.row(101)[0], 114);
  EXPECT_EQ(in.image.row(102)[0], 200);
  EXPECT_EQ(in.image.row(536)[0], 200);
  EXPECT_EQ(in.image.row(537)[0], 114);
}

TEST(EvalLetterbox, RectShapesFollowBatchAspectRatios) {
  // h/w: 0.75, 1.25, 0.5, 1.0; batch 2 sorted by ratio: {0.5, 0.75} and {1.0, 1.25}.
  const auto s = rect_shapes({{480, 640}, {640, 512}, {320, 640}, {640, 640}}, 2, 640, 32);
  // First batch: max ratio .75 -> h = ceil(.75 * 20 + .5) * 32 = 512, w = ceil(20.5) * 32 = 672.
  EXPECT_EQ(s[0], std::make_pair(512, 672));
  EXPECT_EQ(s[2], std::make_pair(512, 672));
  // Second batch: min ratio 1.0 is not > 1: square 672.
  EXPECT_EQ(s[1], std::make_pair(672, 672));
  EXPECT_EQ(s[3], std::make_pair(672, 672));
  const auto one = rect_shapes({{640, 512}}, 1, 640, 32);
  EXPECT_EQ(one[0], std::make_pair(672, 544));  // w: ceil(0.8 * 20 + 0.5) = 17 -> 544
}

TEST(EvalLetterbox, RectShapesKeepEqualRatiosInInputOrder) {
  // Three images of ratio 0.75 straddle a batch boundary: the sort is stable (numpy's
  // argsort(kind="stable")), so the first two join the 0.5 image and the third the square one.
  const auto s = rect_shapes({{480, 640}, {480, 640}, {320, 640}, {480, 640}, {640, 640}, {640, 640}}, 3, 640, 32);
  EXPECT_EQ(s[0], std::make_pair(512, 672));  // batch {0.5, 0.75, 0.75}: max 0.75
  EXPECT_EQ(s[1], std::make_pair(512, 672));
  EXPECT_EQ(s[2], std::make_pair(512, 672));
  EXPECT_EQ(s[3], std::make_pair(672, 672));  // batch {0.75, 1, 1}: mixed, square
  EXPECT_EQ(s[4], std::make_pair(672, 672));
}

}  // namespace
}  // namespace kiln::eval
