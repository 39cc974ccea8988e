// kiln.yaml parsing, command-line overrides, model names and their resolution.
#include "engine/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "engine/model_names.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

fs::path write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p;
}

TEST(Config, TwoModelsWithRelativeSources) {
  fs::path dir = test::temp_dir();
  fs::create_directories(dir / "models");
  write(dir / "models" / "yolo11n.onnx", "x");
  fs::path yaml = write(dir / "kiln.yaml", R"(
cache_dir: engines
on_mismatch: auto
device: cuda:1
models:
  vehicle: {source: models/yolo11n.onnx, imgsz: 640, precision: fp16, batch: 1, workspace: 2}
  plate:
    source: yolov8n
    imgsz: 416
    batch: "1:4:8"
)");
  auto c = load_config(yaml);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(*c->cache_dir, fs::absolute(dir) / "engines");
  EXPECT_EQ(*c->on_mismatch, "auto");
  ASSERT_EQ(c->models.size(), 2u);
  EXPECT_EQ(c->models[0].name, "vehicle");
  EXPECT_EQ(c->models[1].name, "plate");

  auto vehicle = resolve_build_options(&*c, &c->models[0], {});
  ASSERT_TRUE(vehicle.ok()) << vehicle.status().message();
  EXPECT_EQ(vehicle->device.to_string(), "cuda:1");
  EXPECT_EQ(vehicle->precision, Precision::kFp16);
  EXPECT_EQ(vehicle->imgsz, 640);
  EXPECT_EQ(vehicle->workspace_gb, 2);
  auto src = resolve_model_source(*c, c->models[0], "");
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_TRUE(fs::equivalent(*src, dir / "models" / "yolo11n.onnx"));

  auto plate = resolve_build_options(&*c, &c->models[1], {});
  ASSERT_TRUE(plate.ok());
  EXPECT_EQ(plate->batch, (BatchProfile{1, 4, 8}));
  EXPECT_EQ(plate->imgsz, 416);
  EXPECT_EQ(plate->precision, Precision::kFp32);
  // A model name resolves in the models directory.
  write(dir / "models" / "yolov8n.onnx", "y");
  auto plate_src = resolve_model_source(*c, c->models[1], (dir / "models").string());
  ASSERT_TRUE(plate_src.ok()) << plate_src.status().message();
  EXPECT_EQ(plate_src->filename(), "yolov8n.onnx");
}

TEST(Config, CommandLineOverridesWin) {
  fs::path yaml = write(test::temp_dir() / "kiln.yaml", "models:\n  a: {source: a.onnx, imgsz: 320, precision: fp16, device: cuda}\n");
  auto c = load_config(yaml);
  ASSERT_TRUE(c.ok());
  OptionOverrides o;
  o.imgsz = 640;
  o.device = "cpu";
  o.precision = "fp32";
  o.batch = "2";
  auto opts = resolve_build_options(&*c, &c->models[0], o);
  ASSERT_TRUE(opts.ok()) << opts.status().message();
  EXPECT_EQ(opts->imgsz, 640);
  EXPECT_EQ(opts->device.to_string(), "cpu");
  EXPECT_EQ(opts->precision, Precision::kFp32);
  EXPECT_EQ(opts->batch, (BatchProfile{2, 2, 2}));
}

TEST(Config, UnknownKeysAndBadValuesNameKeyAndFile) {
  fs::path dir = test::temp_dir();
  auto top = load_config(write(dir / "a.yaml", "cache_dri: x\n"));
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("unknown key 'cache_dri'"), std::string::npos);
  EXPECT_NE(top.status().message().find("a.yaml"), std::string::npos);

  auto inner = load_config(write(dir / "b.yaml", "models:\n  vehicle: {source: v.onnx, imgsize: 640}\n"));
  ASSERT_FALSE(inner.ok());
  EXPECT_NE(inner.status().message().find("unknown key 'imgsize' in model 'vehicle'"), std::string::npos);

  auto type = load_config(write(dir / "c.yaml", "models:\n  v: {source: v.onnx, imgsz: big}\n"));
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("models.v.imgsz"), std::string::npos);

  auto syntax = load_config(write(dir / "d.yaml", "models: [unclosed\n"));
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().code(), StatusCode::kCorrupt);

  auto c = load_config(write(dir / "e.yaml", "models:\n  v: {source: v.onnx, precision: fp8}\n"));
  ASSERT_TRUE(c.ok());
  auto bad = resolve_build_options(&*c, &c->models[0], {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("fp8"), std::string::npos);
  EXPECT_NE(bad.status().message().find("'v'"), std::string::npos);
}

// parse_config is load_config without the file: same result, paths relative to the name
// it is given, errors naming it, and a NUL inside the text is the YAML's problem, not a cut.
TEST(Config, ParseFromMemoryMatchesTheFile) {
  const std::string text = "cache_dir: c\nmodels:\n  v: {source: v.onnx, imgsz: 320, batch: \"1:2:4\"}\n";
  fs::path dir = test::temp_dir();
  auto from_file = load_config(write(dir / "k.yaml", text));
  auto from_memory = parse_config(text, dir / "k.yaml");
  ASSERT_TRUE(from_file.ok() && from_memory.ok()) << from_memory.status().message();
  EXPECT_EQ(from_memory->cache_dir, from_file->cache_dir);
  EXPECT_EQ(*from_memory->cache_dir, dir / "c");
  ASSERT_EQ(from_memory->models.size(), 1u);
  EXPECT_EQ(from_memory->models[0].imgsz, 320);
  EXPECT_EQ(from_memory->models[0].batch, "1:2:4");

  auto unknown = parse_config("cache_dri: x\n", "/nowhere/m.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("/nowhere/m.yaml: unknown key 'cache_dri'"), std::string::npos);
  auto syntax = parse_config(std::string_view("models: [a\0]\n", 13), "m.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().code(), StatusCode::kCorrupt);
}

// --imgsz 100000 or --batch 100000 used to grow to 22 GB and end in std::bad_alloc: the
// bounds are checked once, before anything is allocated, wherever the sizes come from.
TEST(Config, InputSizeAndBatchAreBounded) {
  EXPECT_TRUE(check_input_size(0, 1).ok());
  EXPECT_TRUE(check_input_size(8192, 4).ok());
  EXPECT_TRUE(check_input_size(640, 512).ok());
  EXPECT_EQ(check_input_size(100000, 1).message(), "imgsz 100000 out of range (1 to 8192)");
  EXPECT_EQ(check_input_size(640, 100000).message(), "batch 100000 out of range (1 to 1024)");
  EXPECT_EQ(check_input_size(-32, 1).message(), "imgsz -32 out of range (1 to 8192)");
  EXPECT_NE(check_input_size(8192, 8).message().find("too large"), std::string::npos);
  OptionOverrides o;
  o.imgsz = 100000;
  EXPECT_EQ(resolve_build_options(nullptr, nullptr, o).status().message(), "imgsz 100000 out of range (1 to 8192)");
  o.imgsz = std::nullopt;
  o.batch = "1:4:100000";
  EXPECT_EQ(resolve_build_options(nullptr, nullptr, o).status().message(), "batch 100000 out of range (1 to 1024)");
}

TEST(ModelNames, ParsesTaskAndDefaultSize) {
  struct Case { const char* name; const char* version; char size; const char* task; int64_t imgsz; };
  for (const Case& c : {Case{"yolo11n-pose", "11", 'n', "pose", 640}, Case{"yolov8s", "8", 's', "detect", 640},
                        Case{"yolo10m-seg", "10", 'm', "segment", 640}, Case{"yolo11x-cls", "11", 'x', "classify", 224},
                        Case{"yolo11n-obb-random", "11", 'n', "obb", 1024}, Case{"yolo11n-dynamic", "11", 'n', "detect", 640}}) {
    auto n = parse_model_name(c.name);
    ASSERT_TRUE(n.has_value()) << c.name;
    EXPECT_EQ(n->version, c.version) << c.name;
    EXPECT_EQ(n->size, c.size) << c.name;
    EXPECT_EQ(n->task, c.task) << c.name;
    EXPECT_EQ(default_imgsz(n->task), c.imgsz) << c.name;
  }
  for (const char* bad : {"osnet_x0_25", "yolo", "yolov8", "yolo11q", "yolo11nn", "resnet50"})
    EXPECT_FALSE(parse_model_name(bad).has_value()) << bad;
}

TEST(ModelNames, ResolvesNamesInModelsDir) {
  fs::path dir = test::temp_dir();
  write(dir / "yolo11n-pose.onnx", "x");
  auto r = resolve_model("yolo11n-pose", dir);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, dir / "yolo11n-pose.onnx");
  EXPECT_EQ(*resolve_model((dir / "yolo11n-pose.onnx").string(), {}), dir / "yolo11n-pose.onnx");
  auto missing = resolve_model("yolov8s", dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find((dir / "yolov8s.onnx").string()), std::string::npos);
  ::setenv("KILN_MODELS_DIR", dir.c_str(), 1);
  EXPECT_EQ(models_dir(""), dir);
  EXPECT_EQ(models_dir("/flag"), fs::path("/flag"));
  ::unsetenv("KILN_MODELS_DIR");
}

}  // namespace
}  // namespace kiln::engine
