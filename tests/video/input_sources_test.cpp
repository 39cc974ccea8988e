// list_input_sources: what a predict source names (a file, a folder, a glob, a URL or
// camera, a .txt / .streams list) expanded into images and videos in Ultralytics' order,
// and the one-line errors for sources that name nothing. Files are empty: only names count.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"
#include "video/input_sources.h"

namespace kiln::video {
namespace {

namespace fs = std::filesystem;

// A fresh folder holding empty files of the given names.
fs::path folder_with(const std::string& name, const std::vector<std::string>& files) {
  const fs::path dir = test::temp_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const std::string& f : files) std::ofstream(dir / f).put('\0');
  return dir;
}

std::vector<std::string> names(const InputSources& s) {
  std::vector<std::string> out;
  for (const fs::path& p : s.images) out.push_back(p.filename().string());
  for (const VideoSource& v : s.videos) out.push_back(v.name);
  return out;
}

TEST(InputSources, FolderSortsImagesThenVideosAndSkipsTheRest) {
  const fs::path dir = folder_with("sources_folder", {"b.jpg", "a.PNG", "clip.mp4", "notes.txt", "c.bmp", "a.mkv"});
  fs::create_directories(dir / "sub.jpg");  // a folder, whatever its name
  auto s = list_input_sources(dir.string());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(names(*s), (std::vector<std::string>{"a.PNG", "b.jpg", "c.bmp", "a.mkv", "clip.mp4"}));
  EXPECT_FALSE(s->together);
  EXPECT_EQ(s->videos[0].kind, SourceKind::kFile);
  EXPECT_EQ(s->videos[0].stem, "a");
}

TEST(InputSources, GlobAndSingleFiles) {
  const fs::path dir = folder_with("sources_glob", {"x1.jpg", "x2.jpg", "y.jpg", "v.avi"});
  auto glob = list_input_sources((dir / "x*.jpg").string());
  ASSERT_TRUE(glob.ok()) << glob.status().message();
  EXPECT_EQ(names(*glob), (std::vector<std::string>{"x1.jpg", "x2.jpg"}));

  auto video = list_input_sources((dir / "v.avi").string());
  ASSERT_TRUE(video.ok());
  EXPECT_TRUE(video->images.empty());
  EXPECT_EQ(names(*video), std::vector<std::string>{"v.avi"});
  // A named file that is no video is taken as an image (decoding it names it if it is not).
  auto other = list_input_sources((dir / "y.jpg").string());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->images, std::vector<fs::path>{dir / "y.jpg"});
}

TEST(InputSources, UrlsAndCamerasAreLiveVideos) {
  auto cam = list_input_sources("0");
  ASSERT_TRUE(cam.ok()) << cam.status().message();
  ASSERT_EQ(cam->videos.size(), 1u);
  EXPECT_EQ(cam->videos[0].kind, SourceKind::kCamera);
  EXPECT_EQ(cam->videos[0].locator, "/dev/video0");
  auto url = list_input_sources("file:///tmp/x.mp4");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_EQ(url->videos[0].kind, SourceKind::kUrl);
  // RTSP is opened by FFmpeg's RTSP demuxer, not by one of its avio protocols.
  for (const std::string camera : {"rtsp://cam:554/live", "rtsps://cam:554/live"}) {
    auto rtsp = list_input_sources(camera);
    ASSERT_TRUE(rtsp.ok()) << rtsp.status().message();
    EXPECT_EQ(rtsp->videos[0].kind, SourceKind::kUrl);
    EXPECT_EQ(rtsp->videos[0].stem, "cam_554_live");
  }
  auto unknown = list_input_sources("nosuch://cam/live");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnsupported);
}

TEST(InputSources, ListKeepsItsOrderRunsTogetherAndRenamesRepeatedStems) {
  const fs::path dir = folder_with("sources_list", {"b.jpg", "a.jpg"});
  fs::create_directories(dir / "one");
  fs::create_directories(dir / "two");
  std::ofstream(dir / "one" / "clip.mp4").put('\0');
  std::ofstream(dir / "two" / "clip.mp4").put('\0');
  std::ofstream(dir / "all.txt") << "# cameras and clips\nb.jpg\n\n  two/clip.mp4\none/clip.mp4\na.jpg\n";
  auto s = list_input_sources((dir / "all.txt").string());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->together);
  EXPECT_EQ(s->images, (std::vector<fs::path>{dir / "b.jpg", dir / "a.jpg"}));
  ASSERT_EQ(s->videos.size(), 2u);
  EXPECT_EQ(s->videos[0].locator, (dir / "two" / "clip.mp4").string());
  EXPECT_EQ(s->videos[0].stem, "clip");
  EXPECT_EQ(s->videos[1].stem, "clip_2");
}

TEST(InputSources, SourcesThatNameNothingAreOneLineErrors) {
  const fs::path dir = folder_with("sources_bad", {"readme.md"});
  auto missing = list_input_sources((dir / "nope.jpg").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), (dir / "nope.jpg").string() + ": no such file or directory");

  auto empty = list_input_sources(dir.string());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), dir.string() + ": no images (jpg, jpeg, png, bmp) or videos (mp4, avi, mkv, "
                                                     "mov, ...) in directory");

  auto unmatched = list_input_sources((dir / "*.jpg").string());
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.status().code(), StatusCode::kNotFound);

  std::ofstream(dir / "outer.txt") << "inner.streams\n";
  auto nested = list_input_sources((dir / "outer.txt").string());
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(nested.status().message(),
            (dir / "outer.txt").string() + ": lists another list, " + (dir / "inner.streams").string());

  std::ofstream(dir / "gone.txt") << "missing.jpg\n";
  auto entry = list_input_sources((dir / "gone.txt").string());
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.status().message(),
            (dir / "gone.txt").string() + ": " + (dir / "missing.jpg").string() + ": no such file or directory");
}

}  // namespace
}  // namespace kiln::video
