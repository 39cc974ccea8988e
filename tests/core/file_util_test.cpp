// write_file_atomic's failures name the file, the step and errno's own text (a failed
// rename used to report "rename failed: Success"), and leave no temp file behind.
#include "core/file_util.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include "support/test_support.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

size_t temp_files_in(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

TEST(FileUtil, WritesAtomicallyAndReadsBack) {
  fs::path dir = test::temp_dir();
  const std::string text = "hello";
  ASSERT_TRUE(write_file_atomic(dir / "a.txt", text.data(), text.size()).ok());
  auto back = read_file(dir / "a.txt");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(back->begin(), back->end()), text);
  EXPECT_EQ(temp_files_in(dir), 0u);
}

TEST(FileUtil, FailedRenameSaysWhyAndLeavesNoTempFile) {
  fs::path dir = test::temp_dir();
  fs::create_directories(dir / "taken" / "inside");  // a non-empty folder where the file should go
  Status st = write_file_atomic(dir / "taken", "x", 1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_EQ(st.message(), (dir / "taken").string() + ": cannot move the finished file into place: Is a directory");
  EXPECT_EQ(temp_files_in(dir), 0u);
}

TEST(FileUtil, MissingFolderSaysWhy) {
  fs::path target = test::temp_dir() / "no" / "such" / "a.txt";
  Status st = write_file_atomic(target, "x", 1);
  EXPECT_EQ(st.message(), target.string() + ": cannot create a file beside it: No such file or directory");
}

TEST(FileUtil, AtomicFileInPiecesAppearsWholeOnlyAtCommit) {
  fs::path dir = test::temp_dir();
  auto file = AtomicFile::create(dir / "r.json");
  ASSERT_TRUE(file.ok()) << file.status().message();
  std::string want;
  for (int i = 0; i < 30000; ++i) {  // ~1.4 MB: past the write buffer, so some is on disk before commit
    const std::string piece = "{\"image\": " + std::to_string(i) + ", \"detections\": []}\n";
    ASSERT_TRUE(file->append(piece).ok());
    want += piece;
  }
  EXPECT_FALSE(fs::exists(dir / "r.json"));
  EXPECT_EQ(temp_files_in(dir), 1u);
  ASSERT_TRUE(file->commit().ok());
  auto back = read_file(dir / "r.json");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(back->begin(), back->end()), want);
  EXPECT_EQ(temp_files_in(dir), 0u);
  EXPECT_FALSE(file->commit().ok());
  EXPECT_FALSE(file->append("more").ok());
}

TEST(FileUtil, AtomicFileNotCommittedLeavesNothing) {
  fs::path dir = test::temp_dir();
  {
    auto file = AtomicFile::create(dir / "r.json");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file->append(std::string(3 << 20, 'x')).ok());
    EXPECT_EQ(temp_files_in(dir), 1u);
  }  // an error return before commit
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(FileUtil, OutputPathsThatCannotTakeAFileAreNamedBeforeTheWork) {
  fs::path dir = test::temp_dir();
  EXPECT_TRUE(check_output_path(dir / "out.json").ok());
  EXPECT_EQ(check_output_path(dir).message(), dir.string() + ": is a folder; name the file to write");
  EXPECT_EQ(check_output_path(dir / "no" / "out.json").message(),
            (dir / "no" / "out.json").string() + ": no folder " + (dir / "no").string() + " to write it in");
  EXPECT_TRUE(check_output_path("relative-name.json").ok());  // in the working folder
}

TEST(FileUtil, TempNamesRecordTheWritersPid) {
  fs::path tmp = temp_path_for("/c/yolo.kiln");
  EXPECT_EQ(tmp.parent_path(), fs::path("/c"));
  EXPECT_EQ(temp_file_owner(tmp), ::getpid());
  EXPECT_EQ(temp_file_owner("/c/yolo.kiln.tmp.123"), std::nullopt);  // older names carry no pid
  EXPECT_EQ(temp_file_owner("/c/yolo.kiln"), std::nullopt);
  EXPECT_EQ(temp_file_owner("/c/yolo.kiln.tmp.x1.2"), std::nullopt);
}

}  // namespace
}  // namespace kiln
