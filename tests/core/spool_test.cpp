// Spool: text appended in pieces comes back whole, in order, as often as asked, and more
// can be appended after a copy.
#include "core/spool.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln {
namespace {

std::string copied(Spool& spool) {
  std::string out;
  Status st = spool.copy_to([&](std::string_view text) {
    out += text;
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

TEST(Spool, CopiesBackWhatWasAppended) {
  auto spool = Spool::create();
  ASSERT_TRUE(spool.ok()) << spool.status().message();
  EXPECT_TRUE(spool->empty());
  std::string want;
  for (int i = 0; i < 20000; ++i) {  // past copy_to's 64 KiB pieces
    const std::string line = "frame " + std::to_string(i) + "\n";
    ASSERT_TRUE(spool->append(line).ok());
    want += line;
  }
  EXPECT_FALSE(spool->empty());
  EXPECT_EQ(copied(*spool), want);
  ASSERT_TRUE(spool->append("last\n").ok());
  EXPECT_EQ(copied(*spool), want + "last\n");
}

TEST(Spool, ACopyStopsAtTheSinksError) {
  auto spool = Spool::create();
  ASSERT_TRUE(spool.ok());
  ASSERT_TRUE(spool->append(std::string(200000, 'x')).ok());
  int calls = 0;
  Status st = spool->copy_to([&](std::string_view) {
    ++calls;
    return error(StatusCode::kIoError, "out.json: write failed: No space left on device");
  });
  EXPECT_EQ(st.message(), "out.json: write failed: No space left on device");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace kiln
