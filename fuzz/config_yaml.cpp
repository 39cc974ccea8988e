// kiln.yaml parsing (engine::load_config) and the build options it resolves to.
#include <cstdint>

#include "engine/config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = kiln::fuzz::scratch_dir() / "kiln.yaml";
  kiln::fuzz::write_bytes(path, data, size);
  auto config = kiln::engine::load_config(path);
  if (!config.ok()) return 0;
  for (const auto& model : config->models) (void)kiln::engine::resolve_build_options(&*config, &model, {});
  return 0;
}
