// kiln.yaml parsing (engine::parse_config, what load_config runs on the file's text) and the
// build options it resolves to. Parsed from memory: a file round-trip per input made the
// disk, not the parser, the bottleneck.
#include <cstdint>
#include <string_view>

#include "engine/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = kiln::engine::parse_config(yaml, "/fuzz/kiln.yaml");
  if (!config.ok()) return 0;
  for (const auto& model : config->models) (void)kiln::engine::resolve_build_options(&*config, &model, {});
  return 0;
}
