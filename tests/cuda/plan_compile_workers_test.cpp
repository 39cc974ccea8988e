// Conv plans compiled in worker processes (plan_compile_workers.h): the request lines the
// workers read, a worker refusing a file that is not a request list and, on a GPU, a cold
// build whose plans all came from kiln workers computing what the CPU reference computes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "backends/cuda/ops/conv_cudnn.h"
#include "backends/cuda/plan_compile_workers.h"
#include "cuda_test_util.h"

namespace kiln::cuda::test {
namespace {

TEST(ConvRequestCodec, RoundTripsEveryField) {
  ConvRequest q;
  //         n  h   w   c   k   oh  ow  r  s  sh sw ph pw dh dw groups
  q.s = ConvShape{2, 40, 36, 64, 96, 20, 18, 3, 5, 2, 3, 1, 2, 4, 5, 8};
  q.pad_bottom = 6;
  q.pad_right = 7;
  q.precision = Precision::kTf32;
  q.variant = ConvVariant::kResidual;
  q.act = ConvAct::kSigmoid;
  q.post_act = ConvAct::kRelu;
  q.x_stride = 128;
  q.y_stride = 192;
  q.r_stride = 160;
  q.precompiled_only = true;
  auto back = decode_conv_request(encode_conv_request(q));
  ASSERT_TRUE(back.ok()) << back.status().message();
  const ConvShape& s = back->s;
  const std::vector<int64_t> got = {s.n, s.h, s.w, s.c, s.k, s.oh, s.ow, s.r, s.s, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw,
                                    s.groups, back->pad_bottom, back->pad_right, back->x_stride, back->y_stride,
                                    back->r_stride};
  EXPECT_EQ(got, (std::vector<int64_t>{2, 40, 36, 64, 96, 20, 18, 3, 5, 2, 3, 1, 2, 4, 5, 8, 6, 7, 128, 192, 160}));
  EXPECT_EQ(back->precision, Precision::kTf32);
  EXPECT_EQ(back->variant, ConvVariant::kResidual);
  EXPECT_EQ(back->act, ConvAct::kSigmoid);
  EXPECT_EQ(back->post_act, ConvAct::kRelu);
  EXPECT_TRUE(back->precompiled_only);
  EXPECT_EQ(back->signature(), q.signature());
}

TEST(ConvRequestCodec, RefusesMalformedLines) {
  auto few = decode_conv_request("1 2 3");
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("expected 26 integers"), std::string::npos) << few.status().message();
  std::string line;
  for (int i = 0; i < 26; ++i) line += "1 ";
  EXPECT_TRUE(decode_conv_request(line).ok());
  auto extra = decode_conv_request(line + "9");
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().message().find("more than 26"), std::string::npos) << extra.status().message();
  std::string bad_variant;
  for (int i = 0; i < 26; ++i) bad_variant += i == 19 ? "7 " : "1 ";
  auto range = decode_conv_request(bad_variant);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("out of range"), std::string::npos) << range.status().message();
}

TEST(PlanCompileWorker, RefusesAFileThatIsNotARequestList) {
  const std::string in = ::testing::TempDir() + "kiln_not_requests.txt";
  const std::string out = ::testing::TempDir() + "kiln_not_requests.plans";
  std::ofstream(in) << "conv n1 c3 h640\n";
  Status s = run_plan_compile_worker(in, out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(in), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not a conv request file"), std::string::npos) << s.message();
  EXPECT_FALSE(std::ifstream(out).good()) << "a refused request list wrote plans";
  EXPECT_FALSE(run_plan_compile_worker(in + ".missing", out).ok());
  std::remove(in.c_str());
}

// Convs in a chain, each with its own channel count, so that every one is a signature of
// its own: 3x3, pad 1, bias.
ir::Graph conv_chain(const std::vector<int64_t>& channels, int64_t hw) {
  ir::Graph g;
  auto value = [&](const std::string& name, int64_t c) {
    ir::Value* v = g.add_value(name);
    v->dtype = ir::DType::kFloat32;
    v->shape = ir::make_shape({1, c, hw, hw});
    return v;
  };
  ir::Value* x = value("x", channels[0]);
  g.inputs.push_back(x);
  for (size_t i = 1; i < channels.size(); ++i) {
    const std::string n = std::to_string(i);
    ir::Value* w = g.add_constant("w" + n, random_tensor({channels[i], channels[i - 1], 3, 3}, 10 + i, -0.15f, 0.15f));
    ir::Value* b = g.add_constant("b" + n, random_tensor({channels[i]}, 40 + i, -0.1f, 0.1f));
    ir::Value* y = value("y" + n, channels[i]);
    g.add_node("Conv", "conv" + n, {x, w, b}, {y})->attrs = {{"kernel_shape", std::vector<int64_t>{3, 3}},
                                                            {"strides", std::vector<int64_t>{1, 1}},
                                                            {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                                                            {"dilations", std::vector<int64_t>{1, 1}},
                                                            {"group", int64_t{1}}};
    x = y;
  }
  g.outputs = {x};
  return g;
}

TEST(PlanCompileWorker, ColdBuildTakesEveryPlanFromKilnWorkers) {
  KILN_REQUIRE_GPU();
  const char* kiln_bin = std::getenv("KILN_BIN");
  if (!kiln_bin) GTEST_SKIP() << "KILN_BIN (the kiln CLI, which runs the workers) is not set";
  const std::vector<int64_t> channels = {16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128};
  ir::Graph g = conv_chain(channels, 24);
  ir::Tensor x = random_tensor({1, 16, 24, 24}, 3);
  auto cpu = cpu::Executor::create(g);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  auto ref = cpu->run({x});
  ASSERT_TRUE(ref.ok()) << ref.status().message();

  BuildOptions opt = test_build_options(Precision::kFp16);
  opt.timing_cache_path = ::testing::TempDir() + "kiln_plan_workers_cache.tsv";
  opt.fp32_tail = false;
  std::remove(opt.timing_cache_path.c_str());
  set_plan_compile_worker({kiln_bin, "--plan-compile-worker"});
  auto engine = Engine::build(g, opt);
  set_plan_compile_worker({});
  std::remove(opt.timing_cache_path.c_str());
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const BuildStats& st = (*engine)->build_stats();
  EXPECT_GE(st.compile_processes, 2);
  EXPECT_EQ(st.conv_signatures, static_cast<int>(channels.size() - 1));
  EXPECT_EQ(st.cache_hits, 0);
  EXPECT_EQ(st.tuned, st.conv_signatures);  // each timed among its workers' candidates
  auto ctx = ExecutionContext::create(**engine);
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  auto out = (*ctx)->run({x});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_LE(relative_max_error((*out)[0], (*ref)[0]), 1e-2);
}

}  // namespace
}  // namespace kiln::cuda::test
