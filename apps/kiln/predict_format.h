// How kiln predict writes one image's Prediction: the summary line, the JSON object (the one
// JSON writer for predictions), the stage times and the Ultralytics YOLO txt label lines.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/model.h"
#include "kiln/prediction.h"

namespace kiln::cli {

// "4 persons, 1 bus, " in class-id order, like Ultralytics' verbose line; classify lists
// its top-5 ("tabby 0.61, tiger cat 0.20, ").
std::string summarize(const Prediction& p, const std::vector<std::string>& names);

// How segment masks are written in the JSON (--masks): polygons, COCO compressed RLE, or
// both.
enum class MaskFormat { kPolygon, kRle, kBoth };
// The --masks spellings, the one list of them: polygon, rle, both.
const std::map<std::string, MaskFormat>& mask_format_names();

// {"detections": [{"class_id", "class_name", "confidence", "box_xyxy", segment: "mask_area"
// (pixels at the original image size) and "polygons" (the outer border of each piece of
// the mask, [[x, y], ...] in image pixels) and/or "rle" ({"size": [h, w], "counts": COCO's
// compressed string}, the mask at the image size, as pycocotools' mask.encode writes it),
// pose: "keypoints_xyc"}]}; obb detections carry "box_xywhr" instead of "box_xyxy";
// classify adds "top5".
nlohmann::json prediction_json(const Prediction& p, const std::vector<std::string>& names,
                               MaskFormat masks = MaskFormat::kPolygon);

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
