// Whole models on CUDA, on the letterboxed bus.jpg: FP32 engine vs the CPU reference
// executor, and FP16 engine vs FP32 engine. Metric, per channel group of output0 (rows 0-3
// boxes xywh, rows 4.. class scores): max |got - ref| / (max(ref) - min(ref)) over the group.
// Limits: FP32 vs CPU <= 1e-3; FP16 vs FP32 <= 1e-2.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "cuda_test_util.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "support/test_support.h"
#include "vision/image_io.h"
#include "vision/letterbox.h"

namespace kiln::cuda::test {
namespace {

struct GroupErrors {
  double boxes = 0, scores = 0;
};

// output0 is [N, 4 + classes, anchors].
GroupErrors group_errors(const ir::Tensor& got, const ir::Tensor& ref) {
  EXPECT_EQ(got.shape(), ref.shape());
  GroupErrors e{1e30, 1e30};
  if (got.shape() != ref.shape() || ref.rank() != 3) return e;
  e.boxes = row_group_error(got, ref, 0, 4);
  e.scores = row_group_error(got, ref, 4, ref.dim(1));
  return e;
}

Result<ir::Tensor> bus_input(int64_t batch) {
  KILN_ASSIGN_OR_RETURN(vision::Image img, vision::decode_image(::kiln::test::asset("images/bus.jpg")));
  vision::Letterboxed lb = vision::letterbox(img, 640, 640);
  std::vector<float> one = vision::to_nchw_rgb(lb.image);
  std::vector<float> all;
  for (int64_t b = 0; b < batch; ++b) {
    // Later images of a batch are flipped left-right, so a batch mix-up shows.
    for (size_t i = 0; i < one.size(); ++i) {
      const size_t x = i % 640;
      all.push_back(b == 0 ? one[i] : one[i - x + (639 - x)]);
    }
  }
  return ir::Tensor::from_vector<float>({batch, 3, 640, 640}, all);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Result<std::vector<ir::Tensor>> run_cuda(const ir::Graph& g, Precision p, const ir::Tensor& input, bool report) {
  auto t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(auto engine, Engine::build(g, test_build_options(p)));
  const BuildStats& bs = engine->build_stats();
  std::cout << "[" << precision_name(p) << "] build " << seconds_since(t0) << " s (heuristics " << bs.heuristics_s
            << ", compiles " << bs.compile_s << ", tuning " << bs.tune_s << "; " << bs.conv_signatures
            << " conv signatures, " << bs.cache_hits << " from the timing cache, " << bs.residual_fused
            << " residual adds fused)" << std::endl;
  KILN_ASSIGN_OR_RETURN(auto ctx, ExecutionContext::create(*engine));
  if (report) {
    std::map<std::string, int> kinds;
    for (const auto& t : engine->tactics()) kinds[t.tactic.substr(0, t.tactic.find(':'))]++;
    std::cout << "[" << precision_name(p) << "] arena " << ctx->arena_bytes() << " B, workspace "
              << ctx->workspace_bytes() << " B, tactics:";
    for (auto& [k, n] : kinds) std::cout << " " << k << " x" << n;
    std::cout << std::endl;
    for (const auto& t : engine->tactics())
      if (t.tactic.rfind("direct", 0) == 0) std::cout << "  " << t.node << ": " << t.tactic << std::endl;
  }
  t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(auto first, ctx->run({input}));  // eager + capture + replay
  KILN_ASSIGN_OR_RETURN(auto second, ctx->run({input}));  // replay only
  std::cout << "[" << precision_name(p) << "] two runs " << seconds_since(t0) << " s" << std::endl;
  // Same plan, same input: only a race (or a nondeterministic engine) could move this.
  EXPECT_LE(relative_max_error(second[0], first[0]), 1e-6) << "graph replay differs from the first run";
  return second;
}

void check_model(const std::string& model, int64_t batch) {
  KILN_REQUIRE_GPU();
  KILN_REQUIRE_ASSETS();
  // A GPU run carries only some models (device transfer limit); a missing one is reported.
  if (!std::filesystem::exists(::kiln::test::asset("models/" + model))) GTEST_SKIP() << model << " not present";
  auto graph = onnx::import_model(::kiln::test::asset("models/" + model));
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  passes::OptimizeOptions opt;
  if (batch > 0) opt.bind_dims = {{"batch", batch}, {"height", 640}, {"width", 640}};
  Status st = passes::optimize(*graph, opt);
  ASSERT_TRUE(st.ok()) << st.message();
  auto input = bus_input(batch > 0 ? batch : 1);
  ASSERT_TRUE(input.ok()) << input.status().message();

  auto t0 = std::chrono::steady_clock::now();
  auto cpu = cpu::Executor::create(*graph);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  auto ref = cpu->run({*input});
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  std::cout << model << " CPU reference " << seconds_since(t0) << " s" << std::endl;

  auto fp32 = run_cuda(*graph, Precision::kFp32, *input, true);
  ASSERT_TRUE(fp32.ok()) << fp32.status().message();
  GroupErrors e32 = group_errors((*fp32)[0], (*ref)[0]);
  std::cout << model << " FP32 vs CPU: boxes " << e32.boxes << ", scores " << e32.scores << std::endl;
  EXPECT_LE(e32.boxes, 1e-3);
  EXPECT_LE(e32.scores, 1e-3);

  auto fp16 = run_cuda(*graph, Precision::kFp16, *input, true);
  ASSERT_TRUE(fp16.ok()) << fp16.status().message();
  GroupErrors e16 = group_errors((*fp16)[0], (*fp32)[0]);
  std::cout << model << " FP16 vs FP32: boxes " << e16.boxes << ", scores " << e16.scores << std::endl;
  EXPECT_LE(e16.boxes, 1e-2);
  EXPECT_LE(e16.scores, 1e-2);
}

TEST(CudaModel, Yolo11nMatchesCpu) { check_model("yolo11n.onnx", 0); }
TEST(CudaModel, Yolov8nMatchesCpu) { check_model("yolov8n.onnx", 0); }
TEST(CudaModel, Yolo11nDynamicBatch2MatchesCpu) { check_model("yolo11n-dynamic.onnx", 2); }

}  // namespace
}  // namespace kiln::cuda::test
