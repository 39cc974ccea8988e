// The typed options (kiln/options.h) from the command line's text: parsed here, once, with
// errors that name the flag. An empty text leaves the option unset.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kiln/options.h"
#include "kiln/status.h"
#include "video/source_reader.h"

namespace kiln::cli {

Result<std::optional<Device>> device_flag(const std::string& text);
Result<std::optional<Precision>> precision_flag(const std::string& text);
// --precision as a list (kiln bench): each name parsed, none given twice.
Result<std::vector<Precision>> precisions_flag(const std::vector<std::string>& names);
// --strict-gpu (no CPU fallback of the model or of video decoding) contradicts --device
// cpu: InvalidArgument saying so.
Status check_strict_gpu(bool strict_gpu, const std::optional<Device>& device);

// --calib, --calib-images, --calib-method, --int8-exclude (repeatable), --int8-target-drop:
// what an int8 build needs (build, predict, val and bench take them alike; checked by
// parse_int8_options).
void add_int8_flags(CLI::App& cmd, Int8Arguments& args);

// --reconnect N and --timeout S: how URLs and cameras are read (predict, track, pipeline).
void add_live_flags(CLI::App& cmd, video::LiveOptions& live);

// A number option's range check whose error writes the range as a person would ("0.1 to
// 3600", where CLI::Range prints "0.100000 to 3600.000000") and quotes what was given.
CLI::Validator number_in(double lo, double hi);

}  // namespace kiln::cli
