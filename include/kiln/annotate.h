// Drawing a Prediction onto its image: boxes with "name 0.87" labels in Ultralytics'
// colors, one per class.
#pragma once

#include <string>
#include <vector>

#include "kiln/image.h"
#include "kiln/prediction.h"

namespace kiln {

// `names` by class id (ModelInfo::names); ids past its end are drawn as numbers.
void draw_prediction(Image& image, const Prediction& prediction, const std::vector<std::string>& names);

}  // namespace kiln
