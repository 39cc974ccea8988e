// describe(): the text and JSON `kiln info ENGINE` shows, and one-line errors for bad files.
#include "engine/describe.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/engine.h"
#include "support/test_support.h"

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

TEST(Describe, ReportsMetadataAndChecksum) {
  fs::path p = test::temp_dir() / "d.kiln";
  EngineMetadata m;
  m.environment = Fingerprint{"cuda", "NVIDIA L4", "8.9", "12.4", "12.4", "9.1.0", "12.4.5", "0.1.0"};
  m.model.source_path = "/m/yolo11n-pose.onnx";
  m.model.task = "pose";
  m.model.names = {"person"};
  m.model.imgsz_h = m.model.imgsz_w = 640;
  m.model.kpt_shape = {17, 3};
  m.build.device = Device::cuda(0);
  m.build.precision = Precision::kFp16;
  m.build.batch = BatchProfile(1, 2, 4);
  m.build.verification_note = "not verified: no CUDA backend";
  ir::Graph g;
  ASSERT_TRUE(save_engine(p, encode_engine_file(m, g)).ok());
  auto d = describe(p);
  ASSERT_TRUE(d.ok()) << d.status().message();
  for (const char* s : {"checksum ok", "pose, 1 classes", "kpt_shape [17,3]", "cuda:0, fp16, batch 1:2:4", "NVIDIA L4 (sm 8.9)",
                        "cuDNN 9.1.0", "not verified: no CUDA backend"})
    EXPECT_NE(d->text.find(s), std::string::npos) << s << "\n" << d->text;
  EXPECT_EQ(d->json["file"]["checksum_ok"], true);
  EXPECT_EQ(d->json["environment"]["compute_capability"], "8.9");
  EXPECT_EQ(d->json["build"]["batch"], "1:2:4");
}

TEST(Describe, BadFilesGiveOneLineErrors) {
  fs::path dir = test::temp_dir();
  std::ofstream(dir / "junk.kiln") << "not an engine at all";
  for (const fs::path& p : {dir / "junk.kiln", dir / "missing.kiln"}) {
    auto d = describe(p);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.status().message().find(p.string()), std::string::npos);
    EXPECT_EQ(d.status().message().find('\n'), std::string::npos);
  }
  EXPECT_EQ(describe(dir / "junk.kiln").status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(describe(dir / "missing.kiln").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::engine
