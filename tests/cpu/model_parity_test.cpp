// Whole-model parity with ONNX Runtime: every asset model runs through the CPU executor on
// the letterboxed bus.jpg; each output must be within 1e-4 of the reference's value range.
// tests/tools/make_model_input.py and ort_reference.py make the input and the reference,
// cached under $KILN_BINARY_DIR/cpu_parity.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "backends/cpu/executor.h"
#include "onnx/importer.h"
#include "passes/lower_qdq.h"
#include "passes/pipeline.h"
#include "support/test_support.h"

namespace kiln::cpu::test {
namespace {

namespace fs = std::filesystem;

fs::path tools_dir() { return kiln::test::source_dir() / "tests" / "tools"; }

fs::path cache_root() { return kiln::test::binary_dir() / "cpu_parity"; }

bool python_has_onnxruntime() {
  static const bool ok = std::system("python3 -c 'import onnxruntime, onnx, PIL' > /dev/null 2>&1") == 0;
  return ok;
}

std::vector<char> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

ir::Tensor read_float_tensor(const fs::path& p, const std::vector<int64_t>& shape) {
  const std::vector<char> bytes = read_bytes(p);
  ir::Tensor t(ir::DType::kFloat32, shape);
  EXPECT_EQ(bytes.size(), t.nbytes()) << p;
  std::copy_n(bytes.begin(), std::min(bytes.size(), t.nbytes()), reinterpret_cast<char*>(t.raw()));
  return t;
}

// Makes (once; again when the model or the tools are newer) the input and ORT outputs.
bool prepare_reference(const fs::path& model, const fs::path& dir, std::string& why) {
  const fs::path done = dir / "outputs.json";
  auto newest_source = std::max({fs::last_write_time(model), fs::last_write_time(tools_dir() / "ort_reference.py"),
                                 fs::last_write_time(tools_dir() / "make_model_input.py")});
  if (fs::exists(done) && fs::last_write_time(done) > newest_source) return true;
  fs::create_directories(dir);
  const std::string q = "'";
  const std::string make_input = "python3 " + q + (tools_dir() / "make_model_input.py").string() + q + " " + q +
                                 model.string() + q + " " + q + ::kiln::test::asset("images/bus.jpg").string() + q +
                                 " " + q + (dir / "input.raw").string() + q + " > " + q +
                                 (dir / "input.json").string() + q;
  if (std::system(make_input.c_str()) != 0) {
    why = "make_model_input.py failed: " + make_input;
    return false;
  }
  const auto input_meta = nlohmann::json::parse(std::ifstream(dir / "input.json"));
  std::string shape;
  for (const auto& d : input_meta["shape"]) {
    if (!shape.empty()) shape += ',';
    shape += std::to_string(d.get<int64_t>());
  }
  const std::string run_ort = "python3 " + q + (tools_dir() / "ort_reference.py").string() + q + " " + q +
                              model.string() + q + " " + q + (dir / "input.raw").string() + q + " " + shape + " " + q +
                              dir.string() + q;
  if (std::system(run_ort.c_str()) != 0) {
    why = "ort_reference.py failed: " + run_ort;
    return false;
  }
  return true;
}

// The letterboxed input and ONNX Runtime's outputs for one asset model.
struct OrtReference {
  fs::path dir;
  ir::Tensor input;
  nlohmann::json outputs;  // [{name, file, shape}], files in dir

  ir::Tensor output(size_t i) const {
    return read_float_tensor(dir / outputs[i]["file"].get<std::string>(),
                             outputs[i]["shape"].get<std::vector<int64_t>>());
  }
};

// Makes the reference for asset `name` (cached per model) and reads it.
bool load_reference(const std::string& name, OrtReference& ref, std::string& why) {
  std::string key = name;
  std::replace(key.begin(), key.end(), '/', '_');
  ref.dir = cache_root() / key;
  if (!prepare_reference(::kiln::test::asset(name), ref.dir, why)) return false;
  const auto input_meta = nlohmann::json::parse(std::ifstream(ref.dir / "input.json"));
  ref.input = read_float_tensor(ref.dir / "input.raw", input_meta["shape"].get<std::vector<int64_t>>());
  ref.outputs = nlohmann::json::parse(std::ifstream(ref.dir / "outputs.json"))["outputs"];
  return true;
}

// Fraction of elements further than `tol` from the reference.
double fraction_beyond(const ir::Tensor& got, const ir::Tensor& ref, double tol) {
  const ir::Tensor a = got.to_float32();
  int64_t bad = 0;
  for (int64_t i = 0; i < ref.numel() && i < a.numel(); ++i)
    bad += std::fabs(static_cast<double>(a.data<float>()[i]) - ref.data<float>()[i]) > tol;
  return ref.numel() ? static_cast<double>(bad) / static_cast<double>(ref.numel()) : 0.0;
}

// Models whose float arithmetic cannot be made bit-identical to ONNX Runtime's right before
// a quantization step: one activation lands on the other side of a rounding boundary and
// moves a handful of output values. For these the bound is on the fraction of elements
// outside 1e-4 of the range (measured values in the comments), not on the worst element.
double allowed_fraction_beyond(const std::string& model) {
  // DFL Softmax feeds DynamicQuantizeLinear; ORT's MLAS exp/sum differ in the last bit:
  // 4 of 705,600 values differ (max 0.37 of range 637).
  if (model == "models/int8/yolov8n_640_int8dyn.onnx") return 1e-4;
  // Static QDQ: every DequantizeLinear -> float Conv -> QuantizeLinear re-rounds, and the
  // float Conv sums in another order than ORT's (fused QLinearConv, or MLAS sgemm when
  // unfused): from layer 5 on a few values quantize one step apart and the difference
  // spreads. Measured: 18.5% of outputs beyond 1e-4 of the range, max 40.7 of range 691
  // (ORT unoptimized vs ORT optimized differ likewise). Only a gross error fails this.
  if (model == "models/int8/yolo11n-pose_640_int8qdq_BROKEN-SCORES.onnx") return 0.25;
  return 0.0;
}

class CpuModelParity : public ::testing::TestWithParam<std::string> {};

TEST_P(CpuModelParity, MatchesOnnxRuntime) {
  KILN_REQUIRE_ASSETS();
  const fs::path model = ::kiln::test::asset(GetParam());
  if (!fs::exists(model)) GTEST_SKIP() << "model not found: " << model;
  if (!python_has_onnxruntime()) GTEST_SKIP() << "python3 onnxruntime/onnx/PIL not available";
  OrtReference reference;
  std::string why;
  ASSERT_TRUE(load_reference(GetParam(), reference, why)) << why;

  auto graph = onnx::import_model(model);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  auto exec = Executor::create(*graph);
  ASSERT_TRUE(exec.ok()) << exec.status().message();
  const auto start = std::chrono::steady_clock::now();
  auto outputs = exec->run({reference.input});
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(outputs.ok()) << outputs.status().message();

  const auto& refs = reference.outputs;
  ASSERT_EQ(outputs->size(), refs.size());
  std::cout << "[parity] " << GetParam() << ": " << ms << " ms";
  for (size_t i = 0; i < refs.size(); ++i) {
    EXPECT_EQ(graph->outputs[i]->name, refs[i]["name"].get<std::string>());
    const ir::Tensor ref = reference.output(i);
    const ::kiln::test::Diff d = ::kiln::test::compare((*outputs)[i].to_float32(), ref);
    const double beyond = fraction_beyond((*outputs)[i], ref, 1e-4 * d.range);
    std::cout << "  " << refs[i]["name"].get<std::string>() << " max_abs " << d.max_abs << " range " << d.range
              << " rel " << (d.range > 0 ? d.max_abs / d.range : d.max_abs) << " beyond " << beyond;
    const double allowed = allowed_fraction_beyond(GetParam());
    if (allowed == 0.0)
      EXPECT_LE(d.max_abs, 1e-4 * d.range) << "output " << refs[i]["name"] << " range " << d.range;
    else
      EXPECT_LE(beyond, allowed) << "output " << refs[i]["name"] << " max_abs " << d.max_abs << " range " << d.range;
  }
  std::cout << std::endl;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s;
  for (char c : info.param) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Models, CpuModelParity,
    ::testing::Values("models/yolo11n.onnx", "models/yolo11n-dynamic.onnx", "models/yolov8n.onnx",
                      "models/yolov8n-seg.onnx", "models/yolo11n-pose.onnx", "models/yolo11n-obb-random.onnx",
                      "models/yolo11n-cls-random.onnx", "models/int8/yolo11n_320_int8dyn.onnx",
                      "models/int8/yolov8n-seg_320_int8dyn.onnx", "models/int8/yolov8n_640_int8dyn.onnx",
                      "models/int8/yolo11n-pose_640_int8qdq_BROKEN-SCORES.onnx", "models/reid/osnet_x0_25_msmt17.onnx",
                      "models/reid/osnet_x0_25_msmt17_extdata/osnet_x0_25_msmt17.onnx"),
    test_name);

// The static QDQ model lowered to QConvInt8 (exact integer convs, requantization fused)
// against ONNX Runtime. Its score channel (4) is zero under ORT (collapsed calibration), so
// the box (0-3) and keypoint (5-55) channels are compared. As for the op-by-op graph above,
// a value quantized one step apart early spreads through 97 requantized layers, so the bound
// is on the fraction of values more than one pixel off (measured: 0.196 lowered, 0.160 op by
// op); a wrong lowering (scale, zero point, bias, padding) moves most values by far more.
TEST(CpuModelParity, LoweredQdqModelMatchesOnnxRuntimeOnBoxesAndKeypoints) {
  KILN_REQUIRE_ASSETS();
  const std::string name = "models/int8/yolo11n-pose_640_int8qdq_BROKEN-SCORES.onnx";
  if (!python_has_onnxruntime()) GTEST_SKIP() << "python3 onnxruntime/onnx/PIL not available";
  OrtReference reference;
  std::string why;
  ASSERT_TRUE(load_reference(name, reference, why)) << why;
  const ir::Tensor ref = reference.output(0);

  auto graph = onnx::import_model(::kiln::test::asset(name));
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  ASSERT_TRUE(passes::optimize(*graph, {}).ok());
  ASSERT_TRUE(passes::lower_qdq(*graph).ok());
  size_t lowered = 0;
  for (const auto& n : graph->nodes()) lowered += n->op_type == "QConvInt8";
  EXPECT_EQ(lowered, 97u);
  auto exec = Executor::create(*graph);
  ASSERT_TRUE(exec.ok()) << exec.status().message();
  auto outputs = exec->run({reference.input});
  ASSERT_TRUE(outputs.ok()) << outputs.status().message();
  const ir::Tensor& got = (*outputs)[0];
  ASSERT_EQ(got.shape(), ref.shape());
  const int64_t channels = ref.dim(1), anchors = ref.dim(2);
  double max_abs = 0;
  int64_t compared = 0, beyond = 0;
  for (int64_t c = 0; c < channels; ++c) {
    if (c == 4) continue;
    for (int64_t a = 0; a < anchors; ++a) {
      const float r = ref.data<float>()[c * anchors + a];
      const double d = std::fabs(static_cast<double>(got.data<float>()[c * anchors + a]) - r);
      max_abs = std::max(max_abs, d);
      beyond += d > 1.0;  // one pixel
      ++compared;
    }
  }
  const double fraction = static_cast<double>(beyond) / static_cast<double>(compared);
  std::cout << "[parity] lowered " << name << ": max_abs " << max_abs << ", beyond 1 px " << fraction << std::endl;
  EXPECT_LE(fraction, 0.25);
}

}  // namespace
}  // namespace kiln::cpu::test
