// Motion compensation with OpenCV, line for line as Ultralytics 8.4.50's GMC, including what
// its tracker does around it: an exception inside GMC.apply gives the identity warp and
// leaves the previous frame as it was (BYTETracker.update catches it), so every early
// return below keeps the state exactly where Python would have left it.
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <cmath>
#include <optional>

#include "track/gmc.h"

namespace kiln::track {

namespace {

// BOTSORT builds GMC(method) with its default downscale.
constexpr int kDownscale = 2;

// The [begin, end) a Python slice a[begin:end] selects from `size` items.
std::pair<int64_t, int64_t> python_slice(int64_t begin, int64_t end, int64_t size) {
  auto clamp = [size](int64_t i) { return std::clamp(i < 0 ? i + size : i, int64_t{0}, size); };
  return {clamp(begin), clamp(end)};
}

// estimateAffinePartial2D's fit with the translation scaled back to full resolution; none
// where OpenCV finds no model (Python then fails on None and the tracker takes the identity).
template <typename Point>
std::optional<Warp> fit_warp(const std::vector<Point>& from, const std::vector<Point>& to) {
  const cv::Mat h = cv::estimateAffinePartial2D(from, to, cv::noArray(), cv::RANSAC);
  if (h.empty()) return std::nullopt;
  Warp w;
  for (int i = 0; i < 6; ++i) w[i] = h.at<double>(i / 3, i % 3);
  w[2] *= kDownscale;
  w[5] *= kDownscale;
  return w;
}

}  // namespace

struct MotionCompensation::State {
  GmcMethod method = GmcMethod::kNone;
  cv::Ptr<cv::Feature2D> detector, extractor;
  cv::Ptr<cv::DescriptorMatcher> matcher;
  bool initialized = false;
  cv::Mat prev_frame;
  std::vector<cv::Point2f> prev_corners;   // sparseOptFlow; empty where Python holds None
  std::vector<cv::KeyPoint> prev_keypoints;  // orb, sift
  cv::Mat prev_descriptors;

  cv::Mat grey(const ImageView& frame) const {
    const cv::Mat bgr(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.pixels));
    cv::Mat g;
    cv::cvtColor(bgr, g, frame.rgb ? cv::COLOR_RGB2GRAY : cv::COLOR_BGR2GRAY);
    return g;
  }

  cv::Mat downscaled(const cv::Mat& g) const {
    cv::Mat small;
    cv::resize(g, small, cv::Size(g.cols / kDownscale, g.rows / kDownscale));
    return small;
  }

  Warp sparse_optical_flow(const ImageView& raw);
  Warp features(const ImageView& raw, const std::vector<Box>& detections);
  Warp ecc(const ImageView& raw);
};

Warp MotionCompensation::State::sparse_optical_flow(const ImageView& raw) {
  const cv::Mat frame = downscaled(grey(raw));
  std::vector<cv::Point2f> corners;
  cv::goodFeaturesToTrack(frame, corners, 1000, 0.01, 1, cv::noArray(), 3, false, 0.04);
  if (!initialized || prev_corners.empty()) {
    prev_frame = frame;
    prev_corners = std::move(corners);
    initialized = true;
    return kIdentityWarp;
  }
  std::vector<cv::Point2f> matched;
  std::vector<uint8_t> status;
  std::vector<float> err;
  cv::calcOpticalFlowPyrLK(prev_frame, frame, prev_corners, matched, status, err);
  std::vector<cv::Point2f> prev_points, curr_points;
  for (size_t i = 0; i < status.size(); ++i)
    if (status[i]) prev_points.push_back(prev_corners[i]), curr_points.push_back(matched[i]);
  Warp h = kIdentityWarp;
  if (prev_points.size() > 4) {
    std::optional<Warp> fit = fit_warp(prev_points, curr_points);
    if (!fit) return kIdentityWarp;
    h = *fit;
  }
  prev_frame = frame;
  prev_corners = std::move(corners);
  return h;
}

Warp MotionCompensation::State::features(const ImageView& raw, const std::vector<Box>& detections) {
  const cv::Mat frame = downscaled(grey(raw));
  const int width = frame.cols, height = frame.rows;
  cv::Mat mask = cv::Mat::zeros(frame.size(), CV_8U);
  mask(cv::Range(static_cast<int>(0.02 * height), static_cast<int>(0.98 * height)),
       cv::Range(static_cast<int>(0.02 * width), static_cast<int>(0.98 * width)))
      .setTo(255);
  // (det[:4] / downscale).astype(int) in float32, then mask[y1:y2, x1:x2] = 0 as NumPy slices.
  for (const Box& d : detections) {
    const auto cell = [](float v) { return static_cast<int64_t>(v / static_cast<float>(kDownscale)); };
    const auto [y1, y2] = python_slice(cell(d.y1), cell(d.y2), height);
    const auto [x1, x2] = python_slice(cell(d.x1), cell(d.x2), width);
    if (y2 > y1 && x2 > x1)
      mask(cv::Range(static_cast<int>(y1), static_cast<int>(y2)), cv::Range(static_cast<int>(x1), static_cast<int>(x2)))
          .setTo(0);
  }
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
  detector->detect(frame, keypoints, mask);
  extractor->compute(frame, keypoints, descriptors);
  auto keep = [&] {
    prev_frame = frame;
    prev_keypoints = keypoints;
    prev_descriptors = descriptors;
  };
  if (!initialized) {
    keep();
    initialized = true;
    return kIdentityWarp;
  }
  std::vector<std::vector<cv::DMatch>> knn;
  matcher->knnMatch(prev_descriptors, descriptors, knn, 2);
  if (knn.empty()) {
    keep();
    return kIdentityWarp;
  }
  // Lowe's ratio test, then matches that moved less than a quarter of the frame.
  std::vector<cv::DMatch> matches;
  std::vector<std::array<double, 2>> moves;
  const double max_dx = 0.25 * width, max_dy = 0.25 * height;
  for (const std::vector<cv::DMatch>& pair : knn) {
    if (pair.size() != 2) return kIdentityWarp;  // `for m, n in knnMatches` raises
    const cv::DMatch& m = pair[0];
    if (!(static_cast<double>(m.distance) < 0.9 * static_cast<double>(pair[1].distance))) continue;
    const cv::Point2f& p = prev_keypoints[m.queryIdx].pt;
    const cv::Point2f& c = keypoints[m.trainIdx].pt;
    const double dx = static_cast<double>(p.x) - c.x, dy = static_cast<double>(p.y) - c.y;
    if (std::abs(dx) < max_dx && std::abs(dy) < max_dy) moves.push_back({dx, dy}), matches.push_back(m);
  }
  // Inliers: (move - mean) < 2.5 std per axis (one-sided, as written there), sums in order as
  // NumPy's mean / std over axis 0 make them.
  std::array<double, 2> mean{}, stddev{};
  for (int a = 0; a < 2; ++a) {
    double sum = 0;
    for (const auto& m : moves) sum += m[a];
    mean[a] = sum / static_cast<double>(moves.size());
    double sq = 0;
    for (const auto& m : moves) sq += (m[a] - mean[a]) * (m[a] - mean[a]);
    stddev[a] = std::sqrt(sq / static_cast<double>(moves.size()));
  }
  std::vector<cv::Point2d> prev_points, curr_points;
  for (size_t i = 0; i < matches.size(); ++i) {
    if (!(moves[i][0] - mean[0] < 2.5 * stddev[0] && moves[i][1] - mean[1] < 2.5 * stddev[1])) continue;
    const cv::Point2f& p = prev_keypoints[matches[i].queryIdx].pt;
    const cv::Point2f& c = keypoints[matches[i].trainIdx].pt;
    prev_points.emplace_back(p.x, p.y);
    curr_points.emplace_back(c.x, c.y);
  }
  Warp h = kIdentityWarp;
  if (prev_points.size() > 4) {
    std::optional<Warp> fit = fit_warp(prev_points, curr_points);
    if (!fit) return kIdentityWarp;
    h = *fit;
  }
  keep();
  return h;
}

// Ultralytics' ECC keeps the first frame as the template for the whole sequence and does not
// scale the translation back to full resolution; both are reproduced.
Warp MotionCompensation::State::ecc(const ImageView& raw) {
  cv::Mat frame = grey(raw), blurred;
  cv::GaussianBlur(frame, blurred, cv::Size(3, 3), 1.5);
  frame = downscaled(blurred);
  cv::Mat h = cv::Mat::eye(2, 3, CV_32F);
  if (!initialized) {
    prev_frame = frame;
    initialized = true;
    return kIdentityWarp;
  }
  try {
    cv::findTransformECC(prev_frame, frame, h, cv::MOTION_EUCLIDEAN,
                         cv::TermCriteria(cv::TermCriteria::EPS | cv::TermCriteria::COUNT, 5000, 1e-6), cv::noArray(), 1);
  } catch (const cv::Exception&) {
    // Python catches this inside apply_ecc and returns its H, which OpenCV has updated in
    // place up to the failing iteration: the same matrix is returned here.
  }
  Warp w;
  for (int i = 0; i < 6; ++i) w[i] = h.at<float>(i / 3, i % 3);
  return w;
}

bool motion_compensation_available() { return true; }

Result<MotionCompensation> MotionCompensation::create(GmcMethod method) {
  auto s = std::make_unique<State>();
  s->method = method;
  if (method == GmcMethod::kOrb) {
    s->detector = cv::FastFeatureDetector::create(20);
    s->extractor = cv::ORB::create();
    s->matcher = cv::BFMatcher::create(cv::NORM_HAMMING);
  } else if (method == GmcMethod::kSift) {
    s->detector = cv::SIFT::create(0, 3, 0.02, 20);
    s->extractor = cv::SIFT::create(0, 3, 0.02, 20);
    s->matcher = cv::BFMatcher::create(cv::NORM_L2);
  }
  return MotionCompensation(std::move(s));
}

MotionCompensation::MotionCompensation(std::unique_ptr<State> state) : state_(std::move(state)) {}
MotionCompensation::MotionCompensation(MotionCompensation&&) noexcept = default;
MotionCompensation& MotionCompensation::operator=(MotionCompensation&&) noexcept = default;
MotionCompensation::~MotionCompensation() = default;

Warp MotionCompensation::apply(const ImageView& frame, const std::vector<Box>& detections) {
  if (frame.width < kDownscale || frame.height < kDownscale || !frame.pixels) return kIdentityWarp;
  State& s = *state_;
  try {
    switch (s.method) {
      case GmcMethod::kSparseOptFlow: return s.sparse_optical_flow(frame);
      case GmcMethod::kOrb:
      case GmcMethod::kSift: return s.features(frame, detections);
      case GmcMethod::kEcc: return s.ecc(frame);
      case GmcMethod::kNone: break;
    }
  } catch (const cv::Exception&) {
    // A frame OpenCV refuses (e.g. another size than the previous one): BYTETracker.update
    // catches the error and uses the identity.
  }
  return kIdentityWarp;
}

void MotionCompensation::reset() {
  State& s = *state_;
  s.initialized = false;
  s.prev_frame.release();
  s.prev_corners.clear();
  s.prev_keypoints.clear();
  s.prev_descriptors.release();
}

}  // namespace kiln::track
