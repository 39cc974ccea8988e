// kiln predict on a video: decode -> predict -> annotate -> encode, with decoding and
// encoding on their own threads around the predict loop (bounded queues between them), so
// the model never waits for FFmpeg unless FFmpeg is the slowest stage.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "kiln/model.h"
#include "kiln/status.h"

namespace kiln::cli {

struct VideoJob {
  std::filesystem::path path;
  size_t index = 1, total = 1;    // "video 1/1" in the per-frame lines
  std::filesystem::path save_dir;  // empty: no annotated video; else <save_dir>/<stem>.mp4
  bool save_txt = false;           // labels/<stem>_<frame>.txt under save_dir
  bool save_conf = false;
  int vid_stride = 1;              // predict every vid_stride-th frame (Ultralytics' vid_stride)
  int64_t max_frames = 0;          // stop after this many predicted frames; 0: all
  // kiln track: turns each frame's prediction into what is printed, written and drawn (the
  // tracked objects), and draws the frame; unset: the prediction as is, draw_prediction.
  std::function<Status(int64_t frame, Prediction& prediction)> on_prediction;
  std::function<void(Image& frame, const Prediction& prediction)> draw;
};

// Prints one line per frame and a summary (frames, end-to-end FPS, per-stage ms), and
// returns the video's JSON entry: {"video", "width", "height", "fps", "frames":
// [{"frame", "detections", ...}], "speed": {"end_to_end_fps", "wall_s", "<stage>_ms"}}.
// On any error nothing is left behind: the video goes through a temp file renamed at the
// end, labels are written only once the whole video succeeded.
Result<nlohmann::json> predict_video(Model& model, const PredictOptions& options, const VideoJob& job);

}  // namespace kiln::cli
