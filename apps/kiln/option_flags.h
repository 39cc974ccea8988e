// The typed options (kiln/options.h) from the command line's text: parsed here, once, with
// errors that name the flag. An empty text leaves the option unset.
#pragma once

#include <optional>
#include <string>

#include "kiln/options.h"
#include "kiln/status.h"

namespace kiln::cli {

Result<std::optional<Device>> device_flag(const std::string& text);
Result<std::optional<Precision>> precision_flag(const std::string& text);

}  // namespace kiln::cli
