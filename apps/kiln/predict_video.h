// kiln predict on a video: decode -> predict -> annotate -> encode, with decoding and
// encoding on their own threads around the predict loop (bounded queues between them), so
// the model never waits for FFmpeg unless FFmpeg is the slowest stage. A model on a GPU
// gets its frames from NVDEC in device memory (video/decoder_choice.h decides); they are
// copied to the host only for what needs pixels there (drawing, crops, a tracker's motion
// compensation), after inference; a pipeline's stages crop them on the device.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>
#include <nlohmann/json.hpp>

#include "api/prediction_json.h"
#include "cli_output.h"
#include "results_stream.h"
#include "kiln/annotate.h"
#include "kiln/model.h"
#include "kiln/status.h"
#include "video/source_reader.h"
#include "video/video_source.h"

namespace kiln::cli {

// Where a video's per-frame JSON goes: json["frames"] in memory, VideoOutcome::frames (a
// temp file: a stream that runs for days holds none of it in memory), or nowhere (the
// caller writes its own from the on_prediction hook).
enum class FrameJson { kKeep, kSpool, kDrop };

struct VideoJob {
  video::VideoSource source;       // a file, URL or camera
  video::LiveOptions live;         // URLs and cameras: timeout and reconnects
  size_t index = 1, total = 1;    // "video 1/1" in the per-frame lines
  std::filesystem::path save_dir;  // empty: no annotated video; else <save_dir>/<stem>.mp4
  bool save_txt = false;           // labels/<stem>_<frame>.txt under save_dir
  bool save_conf = false;
  bool save_crop = false;          // crops/<class>/<stem>_<frame>.jpg under save_dir, as Ultralytics' save_crop
  DrawStyle style;
  api::MaskFormat masks = api::MaskFormat::kPolygon;  // segment masks in the JSON
  int vid_stride = 1;              // predict every vid_stride-th frame; the saved video plays at fps / vid_stride
  int64_t max_frames = 0;          // stop after this many predicted frames; 0: all
  FILE* lines = stdout;            // per-frame lines and the summary; nullptr: none
  // kiln track and pipeline: turns each frame's prediction into what is printed, written
  // and drawn (the tracked objects), given the decoded frame (host pixels, and `device`:
  // NVDEC's frame the model ran on, in device memory during the call, else nullptr), and
  // draws the frame; unset: the prediction as is, draw_prediction.
  std::function<Status(int64_t frame, const Image& image, const Frame* device, Prediction& prediction)> on_prediction;
  std::function<void(Image& frame, const Prediction& prediction)> draw;
  bool on_prediction_reads_image = true;  // false: the hook gets an empty image (no download of GPU frames)
  bool strict_gpu = false;  // a model on a GPU with a video only the CPU can decode: an error, not a fallback
  FrameJson frame_json = FrameJson::kKeep;
};

struct VideoOutcome {
  Status status;        // not ok: the video failed at some frame
  nlohmann::json json;  // the frames predicted before any failure
  std::optional<JsonSpool> frames;  // with FrameJson::kSpool: json's "frames", held on disk
};

// Prints one line per frame and a summary (frames, end-to-end FPS, per-stage ms), and
// returns the video's JSON entry: {"video", "width", "height", "fps", "frames":
// [{"frame", "detections", ...}], "decoder": "nvdec"|"cpu", "fallback": the CPU-decoding
// note or "", "reconnects": [...], "speed": {"end_to_end_fps",
// "wall_s", "<stage>_ms"}}. A live source's length is unknown: its progress counts frames
// and FPS, and each reconnect is also an event ("reconnect") of `messages`.
// Ctrl-C (interrupt.h) ends it after the frames in hand, as if it had ended there.
// A frame that fails to decode (or a stream that does not come back) ends the video: the
// frames before it are kept (JSON, labels, and the annotated video up to there) and the
// status says what failed. Other
// errors (the model, the encoder) leave nothing behind: the video goes through a temp
// file renamed at the end. A model on a GPU whose video is decoded on the CPU says so
// once per reason (a "fallback" event), or fails under job.strict_gpu.
VideoOutcome predict_video(Model& model, const PredictOptions& options, const VideoJob& job, Messages& messages);

// run(i) for i in [0, n): one after the other, or with `together` each on a thread of its
// own (the sources of a .streams list: live streams that never end must run side by side;
// the Model is shared, each call borrows its own context). Outcomes in order.
std::vector<VideoOutcome> run_videos(size_t n, bool together, const std::function<VideoOutcome(size_t)>& run);

}  // namespace kiln::cli
