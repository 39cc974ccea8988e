#include "option_flags.h"

namespace kiln::cli {

Result<std::optional<Device>> device_flag(const std::string& text) {
  if (text.empty()) return std::optional<Device>();
  auto d = parse_device(text);
  if (!d.ok()) return error(d.status().code(), "--device: ", d.status().message());
  return std::optional<Device>(*d);
}

Result<std::optional<Precision>> precision_flag(const std::string& text) {
  if (text.empty()) return std::optional<Precision>();
  auto p = parse_precision(text);
  if (!p.ok()) return error(p.status().code(), "--precision: ", p.status().message());
  return std::optional<Precision>(*p);
}

}  // namespace kiln::cli
