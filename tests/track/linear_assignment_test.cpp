// LAPJV with a cost limit against lap.lapjv(extend_cost=True, cost_limit=...) on small
// matrices, half of them with many equal costs (tests/data/track/lapjv_cases.json), and a
// hand-checked case.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "track/linear_assignment.h"

namespace kiln::track {
namespace {

TEST(LinearAssignment, HandCase) {
  // Row 0 prefers col 1 (0.1); row 1 can only take col 0 (0.2); row 2 costs more than the
  // limit everywhere and stays unmatched.
  const std::vector<double> cost = {0.9, 0.1, 0.2, 0.9, 0.95, 0.95};
  const Assignment a = linear_assignment(cost, 3, 2, 0.8);
  ASSERT_EQ(a.matches.size(), 2u);
  EXPECT_EQ(a.matches[0], std::make_pair(0, 1));
  EXPECT_EQ(a.matches[1], std::make_pair(1, 0));
  EXPECT_EQ(a.unmatched_rows, std::vector<int>{2});
  EXPECT_TRUE(a.unmatched_cols.empty());
}

TEST(LinearAssignment, EmptySides) {
  const Assignment a = linear_assignment({}, 2, 0, 0.8);
  EXPECT_TRUE(a.matches.empty());
  EXPECT_EQ(a.unmatched_rows, (std::vector<int>{0, 1}));
}

TEST(LinearAssignment, EqualsLapOnTies) {
  std::ifstream in(test::source_dir() / "tests" / "data" / "track" / "lapjv_cases.json");
  ASSERT_TRUE(in) << "tests/data/track/lapjv_cases.json missing";
  const nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_GE(cases.size(), 20u);
  for (size_t k = 0; k < cases.size(); ++k) {
    const nlohmann::json& c = cases[k];
    const int rows = static_cast<int>(c["cost"].size()), cols = static_cast<int>(c["cost"][0].size());
    std::vector<double> cost;
    for (const auto& row : c["cost"])
      for (const auto& v : row) cost.push_back(v.get<double>());
    const Assignment a = linear_assignment(cost, rows, cols, c["cost_limit"].get<double>());
    std::vector<int> x(rows, -1), y(cols, -1);
    for (const auto& [r, col] : a.matches) x[r] = col, y[col] = r;
    EXPECT_EQ(x, c["x"].get<std::vector<int>>()) << "case " << k;
    EXPECT_EQ(y, c["y"].get<std::vector<int>>()) << "case " << k;
  }
}

}  // namespace
}  // namespace kiln::track
