// How kiln predict writes one image's Prediction besides its JSON (api/prediction_json.h):
// the summary line, the stage times, the Ultralytics YOLO txt label lines and MOT rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/model.h"
#include "kiln/prediction.h"

namespace kiln::cli {

// "4 persons, 1 bus, " in class-id order, like Ultralytics' verbose line; classify lists
// its top-5 ("tabby 0.61, tiger cat 0.20, ").
std::string summarize(const Prediction& p, const std::vector<std::string>& names);

// "preprocess 2.1 ms, inference 40.3 ms, postprocess 0.9 ms" (--verbose, per image).
std::string stage_times(const Speed& speed);

// Ultralytics' Results.save_txt lines for an image of width x height: detect "cls x y w h",
// segment "cls x1 y1 x2 y2 ..." (the mask's polygon), pose "cls x y w h" + keypoints
// "x y [visibility]", obb "cls x1 y1 ... x4 y4" (corners), coordinates normalized to [0, 1]
// and printed with %g, each followed by " conf" when save_conf; classify "0.61 tabby" for
// the top 5. Empty when there is nothing to write (Ultralytics then writes no file).
std::string yolo_txt(const Prediction& p, const ModelInfo& info, int width, int height, bool save_conf);

// One MOTChallenge row of a tracked object: "frame,id,left,top,width,height,conf,-1,-1,-1\n".
std::string mot_row(int64_t frame, int track_id, const Box& box, float score);

}  // namespace kiln::cli
