// Lanes for an engine's steps (schedule.h), on hand-made plans: which steps may overlap,
// which wait for which, and what the arena planner may reuse. No GPU needed. The GPU test
// at the end runs whole models on one lane and on four and asks for the same bits.
#include "backends/cuda/schedule.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "cuda_test_util.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "support/test_support.h"

namespace kiln::cuda::test {
namespace {

class NoStep : public Step {
 public:
  Status enqueue(const ExecState&, cudaStream_t) const override { return Status::Ok(); }
};

// A plan of packed [1, 8, 4, 4] FP32 tensors; steps name the slots they read and write.
struct HandPlan {
  std::vector<Slot> slots;
  std::vector<std::unique_ptr<Step>> steps;

  int tensor() {
    Slot s;
    s.dims = {1, 8, 4, 4};
    s.layout = Layout::kNHWC;
    slots.push_back(s);
    return static_cast<int>(slots.size()) - 1;
  }
  // Channels [c0, c0 + c) of root `base`.
  int channels(int base, int64_t c0, int64_t c) {
    Slot s = slots[base];
    s.dims[1] = c;
    s.root = base;
    s.offset = static_cast<size_t>(c0) * 4;
    s.pixel_stride = slots[base].dims[1];
    slots.push_back(s);
    return static_cast<int>(slots.size()) - 1;
  }
  int step(std::vector<int> reads, std::vector<int> writes) {
    auto st = std::make_unique<NoStep>();
    st->reads = std::move(reads);
    st->writes = std::move(writes);
    steps.push_back(std::move(st));
    return static_cast<int>(steps.size()) - 1;
  }
};

TEST(Schedule, BranchesGoToLanesAndJoin) {
  HandPlan p;
  const int in = p.tensor(), a = p.tensor(), b = p.tensor(), c = p.tensor(), d = p.tensor();
  p.step({in}, {a});    // 0
  p.step({a}, {b});     // 1: one branch
  p.step({a}, {c});     // 2: the other
  p.step({b, c}, {d});  // 3: both
  const Schedule s = schedule_steps(p.slots, p.steps, 4);
  EXPECT_EQ(s.lanes, 2);
  // The join continues the lane of its latest input.
  EXPECT_EQ(s.lane, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(s.waits[2], (std::vector<int>{0}));
  EXPECT_EQ(s.waits[3], (std::vector<int>{1}));
  EXPECT_TRUE(s.waits[1].empty());  // its lane orders it after step 0
  EXPECT_TRUE(s.happens_before(0, 2));
  EXPECT_FALSE(s.happens_before(1, 2));
  EXPECT_FALSE(s.happens_before(2, 1));
  EXPECT_TRUE(s.happens_before(1, 3));
  EXPECT_TRUE(s.happens_before(2, 3));
  EXPECT_EQ(s.lane_last, (std::vector<int>{1, 3}));
  EXPECT_TRUE(s.signals[0] && s.signals[1] && s.signals[3]);  // step 3: the caller's stream joins it
  EXPECT_FALSE(s.signals[2]);

  const Schedule one = schedule_steps(p.slots, p.steps, 1);
  EXPECT_EQ(one.lanes, 1);
  EXPECT_EQ(one.lane, (std::vector<int>{0, 0, 0, 0}));
  for (const auto& w : one.waits) EXPECT_TRUE(w.empty());
  EXPECT_TRUE(one.happens_before(1, 2));
}

// The longest chain through lanes and waits: the diamond's slower branch.
TEST(Schedule, CriticalPathTakesTheSlowerBranch) {
  HandPlan p;
  const int in = p.tensor(), a = p.tensor(), b = p.tensor(), c = p.tensor(), d = p.tensor();
  p.step({in}, {a});
  p.step({a}, {b});
  p.step({a}, {c});
  p.step({b, c}, {d});
  const Schedule s = schedule_steps(p.slots, p.steps, 4);
  EXPECT_EQ(s.critical_path({1, 5, 2, 1}), (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(s.critical_path({1, 2, 5, 1}), (std::vector<int>{0, 2, 3}));
  const Schedule one = schedule_steps(p.slots, p.steps, 1);
  EXPECT_EQ(one.critical_path({1, 2, 5, 1}), (std::vector<int>{0, 1, 2, 3}));
}

// Overwriting a tensor another lane still reads waits for that reader.
TEST(Schedule, WriteAfterReadWaits) {
  HandPlan p;
  const int in = p.tensor(), a = p.tensor(), b = p.tensor(), x = p.tensor();
  p.step({in}, {a});  // 0
  p.step({a}, {b});   // 1: lane 0
  p.step({in}, {x});  // 2: independent: lane 1
  p.step({x}, {a});   // 3: overwrites a, which step 1 reads
  const Schedule s = schedule_steps(p.slots, p.steps, 4);
  EXPECT_EQ(s.lane[1], 0);
  EXPECT_EQ(s.lane[2], 1);
  EXPECT_EQ(s.lane[3], 1);
  EXPECT_EQ(s.waits[3], (std::vector<int>{1}));
  EXPECT_TRUE(s.happens_before(1, 3));
  EXPECT_TRUE(s.happens_before(0, 3));
}

// Writers of disjoint channels of one buffer (a Concat's operands in place) overlap;
// overlapping channels, or the whole buffer, do not.
TEST(Schedule, ChannelViewsOfOneBuffer) {
  HandPlan p;
  const int in = p.tensor(), cat = p.tensor();
  const int lo = p.channels(cat, 0, 4), hi = p.channels(cat, 4, 4), mid = p.channels(cat, 2, 4);
  const int out = p.tensor();
  p.step({in}, {lo});    // 0
  p.step({in}, {hi});    // 1: disjoint from 0
  p.step({in}, {mid});   // 2: overlaps both
  p.step({cat}, {out});  // 3: reads all of it
  const Schedule s = schedule_steps(p.slots, p.steps, 4);
  EXPECT_NE(s.lane[0], s.lane[1]);
  EXPECT_FALSE(s.happens_before(0, 1));
  EXPECT_TRUE(s.happens_before(0, 2));
  EXPECT_TRUE(s.happens_before(1, 2));
  EXPECT_TRUE(s.happens_before(2, 3));
}

// A step naming no tensors waits for everything before it, and everything after waits for it.
TEST(Schedule, StepWithoutTensorsIsABarrier) {
  HandPlan p;
  const int in = p.tensor(), a = p.tensor(), b = p.tensor(), c = p.tensor();
  p.step({in}, {a});  // 0
  p.step({in}, {b});  // 1: lane 1
  p.step({}, {});     // 2
  p.step({in}, {c});  // 3
  const Schedule s = schedule_steps(p.slots, p.steps, 4);
  EXPECT_NE(s.lane[0], s.lane[1]);
  EXPECT_TRUE(s.happens_before(0, 2));
  EXPECT_TRUE(s.happens_before(1, 2));
  EXPECT_TRUE(s.happens_before(2, 3));
}

// With fewer lanes than branches, a branch shares the lane whose last step is oldest.
TEST(Schedule, LanesAreCapped) {
  HandPlan p;
  const int in = p.tensor(), a = p.tensor(), b = p.tensor(), c = p.tensor();
  p.step({in}, {a});
  p.step({in}, {b});
  p.step({in}, {c});
  const Schedule s = schedule_steps(p.slots, p.steps, 2);
  EXPECT_EQ(s.lanes, 2);
  EXPECT_EQ(s.lane, (std::vector<int>{0, 1, 0}));
  EXPECT_TRUE(s.happens_before(0, 2));   // the lane orders them
  EXPECT_FALSE(s.happens_before(1, 2));
}

// Whole models: the engine on four lanes gives the bits of the engine on one, in its first
// run and in twenty CUDA-graph replays (a race between lanes would move some of them), and
// its schedule does use several lanes.
void check_lanes_change_nothing(const std::string& model, int64_t batch, int height, int width, bool dynamic) {
  KILN_REQUIRE_GPU();
  KILN_REQUIRE_ASSETS();
  const std::string path = ::kiln::test::asset("models/" + model);
  if (!std::filesystem::exists(path)) GTEST_SKIP() << model << " not present";
  auto graph = onnx::import_model(path);
  ASSERT_TRUE(graph.ok()) << graph.status().message();
  passes::OptimizeOptions opt;
  opt.bind_dims = {{"batch", batch}};
  if (dynamic) opt.bind_dims.insert({{"height", height}, {"width", width}});
  ASSERT_TRUE(passes::optimize(*graph, opt).ok());
  const ir::Tensor input = random_tensor({batch, 3, height, width}, 7, 0.f, 1.f);
  for (Precision p : {Precision::kFp32, Precision::kFp16}) {
    // Both compared builds take their plans from the timing cache that this one fills.
    ASSERT_TRUE(Engine::build(*graph, test_build_options(p)).ok());
    std::vector<std::vector<ir::Tensor>> outs;
    std::vector<std::vector<Tactic>> tactics;
    for (int lanes : {1, 4}) {
      BuildOptions o = test_build_options(p);
      o.lanes = lanes;
      auto engine = Engine::build(*graph, o);
      ASSERT_TRUE(engine.ok()) << engine.status().message();
      if (lanes > 1) {
        EXPECT_GT((*engine)->schedule().lanes, 1) << model;
      }
      std::cout << model << " " << to_string(p) << ": " << (*engine)->schedule().lanes << " lanes, arena "
                << (*engine)->memory().arena << " B" << std::endl;
      tactics.push_back((*engine)->tactics());
      auto ctx = ExecutionContext::create(**engine);
      ASSERT_TRUE(ctx.ok()) << ctx.status().message();
      auto first = (*ctx)->run({input});
      ASSERT_TRUE(first.ok()) << first.status().message();
      for (int r = 0; r < 20; ++r) {
        auto again = (*ctx)->run({input});
        ASSERT_TRUE(again.ok()) << again.status().message();
        for (size_t i = 0; i < first->size(); ++i)
          ASSERT_EQ(0, std::memcmp((*again)[i].raw(), (*first)[i].raw(), (*first)[i].nbytes()))
              << model << " lanes " << lanes << " run " << r << " output " << i;
      }
      outs.push_back(std::move(*first));
    }
    ASSERT_EQ(tactics[0].size(), tactics[1].size());
    for (size_t i = 0; i < tactics[0].size(); ++i) ASSERT_EQ(tactics[0][i].tactic, tactics[1][i].tactic);
    for (size_t i = 0; i < outs[0].size(); ++i)
      EXPECT_EQ(0, std::memcmp(outs[0][i].raw(), outs[1][i].raw(), outs[0][i].nbytes()))
          << model << " " << to_string(p) << " output " << i << ": four lanes differ from one";
  }
}

TEST(ScheduleGpu, OsnetOnLanesEqualsOneLane) {
  check_lanes_change_nothing("reid/osnet_x0_25_msmt17.onnx", 8, 256, 128, false);
}
TEST(ScheduleGpu, Yolo11nOnLanesEqualsOneLane) {
  check_lanes_change_nothing("yolo11n-dynamic.onnx", 2, 640, 640, true);
}
TEST(ScheduleGpu, Yolov8nSegOnLanesEqualsOneLane) {
  check_lanes_change_nothing("yolov8n-seg.onnx", 1, 640, 640, false);
}

}  // namespace
}  // namespace kiln::cuda::test
