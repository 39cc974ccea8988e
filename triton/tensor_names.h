// The names of the kiln backend's input and output tensors, shared by the config writer
// (model_repository.cpp) and the backend, so a repository and the backend always agree.
#pragma once

namespace kiln::triton {

// Inputs; a request gives exactly one of them, batch on the first dim.
inline constexpr const char kInputImage[] = "IMAGE";  // BYTES [N, 1]: encoded JPEG, PNG or BMP
inline constexpr const char kInputFrame[] = "FRAME";  // UINT8 [N, H, W, 3]: pixels, BGR
// FP32 [N, 3, H, W]: preprocessed as kiln predict does (letterboxed, RGB in [0, 1]);
// coordinates in the answer are the tensor's pixels.
inline constexpr const char kInputTensor[] = "TENSOR";

// Outputs, per image: COUNT detections (padded to the request's largest count with zeros).
inline constexpr const char kOutputCount[] = "COUNT";          // INT32 [N, 1]
inline constexpr const char kOutputBoxes[] = "BOXES";          // FP32 [N, D, 4]: x1 y1 x2 y2 (obb: cx cy w h)
inline constexpr const char kOutputScores[] = "SCORES";        // FP32 [N, D] (classify: top-5 probabilities)
inline constexpr const char kOutputClasses[] = "CLASSES";      // INT32 [N, D] (classify: top-5 class ids)
inline constexpr const char kOutputMasks[] = "MASKS";          // UINT8 [N, D, H, W]: segment, original size
inline constexpr const char kOutputKeypoints[] = "KEYPOINTS";  // FP32 [N, D, K, 3]: pose, x y confidence
inline constexpr const char kOutputAngles[] = "ANGLES";        // FP32 [N, D]: obb rotation, radians

}  // namespace kiln::triton
