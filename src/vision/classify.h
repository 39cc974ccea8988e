// Classify-task pre- and postprocessing, as Ultralytics' ClassificationPredictor does it
// for exported models: classify_transforms(imgsz) = torchvision Resize(imgsz) (shortest
// side, PIL bilinear) + CenterCrop(imgsz) + ToTensor (x / 255; mean 0, std 1), and top-5
// of the probabilities the export already ends with (Softmax).
#pragma once

#include <span>
#include <vector>

#include "vision/image_io.h"

namespace kiln::vision {

// PIL's Image.resize(..., BILINEAR) for 8-bit images: a separable triangle filter whose
// support widens with the downscale factor (antialiasing), coefficients in 22-bit fixed
// point, horizontal pass first. Channels are independent, so BGR in gives BGR out.
Image resize_pil_bilinear(const Image& src, int dst_width, int dst_height);

// Resize so the shortest side is `size` (the long side int(size * long / short), as
// torchvision computes it), then crop the centered size x size square.
Image classify_crop(const Image& image, int size);

struct ClassScore {
  int class_id = 0;
  float confidence = 0.f;
};

// In-place softmax, for classifier exports that end in logits.
void softmax(std::span<float> values);

// The k highest probabilities, best first; ties keep the lower class id first.
std::vector<ClassScore> top_k(std::span<const float> probabilities, int k);

}  // namespace kiln::vision
