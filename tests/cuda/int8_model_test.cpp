// A whole quantized yolo11n on CUDA against the CPU's INT8 engine and against FP32: ranges
// calibrated (the default method) on two asset images, Q/DQ inserted and lowered to
// QConvInt8 as `kiln build --precision int8` does, then every asset image through the CPU
// executor and through CUDA INT8 engines (float parts FP32, and FP16 as by default). Each
// confident detection of one side must have a same-class match on the other.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "ir/qconv_int8.h"
#include "onnx/importer.h"
#include "passes/lower_qdq.h"
#include "passes/pipeline.h"
#include "quant/calibrate.h"
#include "quant/quantize_graph.h"
#include "support/test_support.h"
#include "vision/detect.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"
#include "vision/nms.h"

namespace kiln::cuda::test {
namespace {

constexpr int kSize = 640;

struct Input {
  ir::Tensor tensor;
  int orig_h = 0, orig_w = 0;
};

Result<Input> load_input(const std::filesystem::path& image) {
  KILN_ASSIGN_OR_RETURN(vision::Image img, vision::decode_image(image));
  const vision::Letterboxed lb = vision::letterbox(img, kSize, kSize);
  return Input{ir::Tensor::from_vector<float>({1, 3, kSize, kSize}, vision::to_nchw_rgb(lb.image)), img.height,
               img.width};
}

std::vector<vision::Detection> detect(const ir::Tensor& raw, const Input& in) {
  return vision::decode_detect(raw.values<float>(), static_cast<int>(raw.dim(2)), static_cast<int>(raw.dim(1)) - 4, {},
                               kSize, kSize, in.orig_h, in.orig_w);
}

// NMS (IoU 0.7) keeps a box or drops it by whether its IoU with a better same-class box is
// above 0.7: a box within 0.05 of that line can go either way when the boxes move by a
// quantization step, as a CPU INT8 person in zidane.jpg at 0.69 did on the H100.
bool at_nms_boundary(const vision::Detection& d, const std::vector<vision::Detection>& all) {
  const double kNmsIou = vision::NmsOptions{}.iou, kMargin = 0.05;
  for (const vision::Detection& e : all)
    if (&e != &d && e.class_id == d.class_id && e.confidence > d.confidence &&
        std::abs(vision::box_iou(d.box, e.box) - kNmsIou) < kMargin)
      return true;
  return false;
}

// Every detection of `want` above `min_conf` has a same-class one in `got` with IoU >=
// min_iou and a confidence within conf_tol; returns the worst IoU seen. A detection at the
// NMS boundary (above) is excused, and named.
double expect_matched(const std::vector<vision::Detection>& want, const std::vector<vision::Detection>& got,
                      float min_conf, double min_iou, double conf_tol, const std::string& what) {
  double worst = 1;
  for (const vision::Detection& d : want) {
    if (d.confidence < min_conf) continue;
    if (at_nms_boundary(d, want)) {
      std::cout << what << ": class " << d.class_id << " conf " << d.confidence << " at the NMS boundary, not matched"
                << std::endl;
      continue;
    }
    double best = 0;
    const vision::Detection* match = nullptr;
    for (const vision::Detection& e : got) {
      const double iou = e.class_id == d.class_id ? vision::box_iou(d.box, e.box) : 0.0;
      if (iou > best) {
        best = iou;
        match = &e;
      }
    }
    worst = std::min(worst, best);
    EXPECT_GE(best, min_iou) << what << ": class " << d.class_id << " conf " << d.confidence;
    if (match) {
      EXPECT_NEAR(match->confidence, d.confidence, conf_tol) << what << ": class " << d.class_id;
    }
  }
  return worst;
}

TEST(CudaInt8Model, Yolo11nMatchesCpuInt8AndFp32) {
  KILN_REQUIRE_GPU();
  KILN_REQUIRE_ASSETS();
  const auto model = ::kiln::test::asset("models/yolo11n.onnx");
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "models/yolo11n.onnx not present";
  auto fp32 = onnx::import_model(model);
  ASSERT_TRUE(fp32.ok()) << fp32.status().message();
  ASSERT_TRUE(passes::optimize(*fp32, {}).ok());
  auto imported = onnx::import_model(model);
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  ir::Graph int8 = std::move(*imported);
  ASSERT_TRUE(passes::optimize(int8, {}).ok());
  const std::vector<std::filesystem::path> calib = {::kiln::test::asset("images/bus.jpg"),
                                                    ::kiln::test::asset("images/horses.jpg")};
  auto cal = quant::calibrate(int8, quant::calibration_points(int8), calib, CalibrationMethod{});
  ASSERT_TRUE(cal.ok()) << cal.status().message();
  ASSERT_TRUE(quant::insert_qdq(int8, cal->ranges, {}).ok());
  ASSERT_TRUE(passes::lower_qdq(int8).ok());
  size_t lowered = 0;
  for (const auto& n : int8.nodes()) lowered += n->op_type == ir::qconv::kOpType;
  ASSERT_GT(lowered, 60u);

  auto cpu_fp32 = cpu::Executor::create(*fp32);
  auto cpu_int8 = cpu::Executor::create(int8);
  ASSERT_TRUE(cpu_fp32.ok() && cpu_int8.ok());
  struct Variant {
    const char* name;
    Precision float_parts;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<ExecutionContext> ctx;
  };
  std::vector<Variant> variants;
  for (auto [name, p] : {std::pair{"int8/fp32", Precision::kFp32}, std::pair{"int8/fp16", Precision::kFp16}}) {
    BuildOptions opt = test_build_options(Precision::kInt8);
    opt.int8_float = p;
    auto engine = Engine::build(int8, opt);
    ASSERT_TRUE(engine.ok()) << name << ": " << engine.status().message();
    auto ctx = ExecutionContext::create(**engine);
    ASSERT_TRUE(ctx.ok()) << ctx.status().message();
    std::map<std::string, size_t> kinds;
    for (const Tactic& t : (*engine)->tactics())
      if (t.tactic.rfind("int8_", 0) == 0) ++kinds[t.tactic];
    size_t qconvs = 0;
    std::cout << "[" << name << "] QConvInt8 steps:";
    for (const auto& [tactic, n] : kinds) {
      std::cout << " " << tactic << " x" << n;
      qconvs += n;
    }
    std::cout << std::endl;
    EXPECT_EQ(qconvs, lowered);
    variants.push_back({name, p, std::move(*engine), std::move(*ctx)});
  }

  for (const auto& entry : std::filesystem::directory_iterator(::kiln::test::asset("images"))) {
    const std::string image = entry.path().filename().string();
    auto in = load_input(entry.path());
    ASSERT_TRUE(in.ok()) << in.status().message();
    auto want32 = cpu_fp32->run({in->tensor});
    auto want8 = cpu_int8->run({in->tensor});
    ASSERT_TRUE(want32.ok() && want8.ok());
    const auto det32 = detect((*want32)[0], *in), det8 = detect((*want8)[0], *in);
    for (Variant& v : variants) {
      auto got = v.ctx->run({in->tensor});
      ASSERT_TRUE(got.ok()) << got.status().message();
      const auto det = detect((*got)[0], *in);
      const double raw = relative_max_error((*got)[0], (*want8)[0]);
      // The same integer model, but not the same numbers: each op agrees with the CPU's
      // within one quantization step (the op tests), and a step that differs at one layer's
      // requantization travels through the seventy after it. On the asset images (H200)
      // confidences moved by up to 0.04 with FP32 float parts and 0.10 with FP16 ones (a car
      // at 0.4 in dog.jpg); boxes stayed within IoU 0.92.
      const double tol = v.float_parts == Precision::kFp32 ? 0.06 : 0.12;
      const double iou8 = expect_matched(det8, det, 0.3f, 0.9, tol, image + " " + v.name + " vs CPU int8");
      const double back = expect_matched(det, det8, 0.3f, 0.9, tol, image + " CPU int8 vs " + std::string(v.name));
      // INT8 against FP32: quantization moves confidences by a few hundredths and small boxes
      // by a few pixels (CPU INT8 on bus.jpg: worst IoU 0.94, conf +0.02).
      const double iou32 = expect_matched(det32, det, 0.5f, 0.75, 0.15, image + " " + v.name + " vs CPU fp32");
      std::cout << "[" << v.name << "] " << image << ": " << det.size() << " detections (CPU int8 " << det8.size()
                << ", fp32 " << det32.size() << "), raw error vs CPU int8 " << raw << ", worst IoU vs CPU int8 "
                << std::min(iou8, back) << ", vs fp32 " << iou32 << std::endl;
    }
  }
}

}  // namespace
}  // namespace kiln::cuda::test
