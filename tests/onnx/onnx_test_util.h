// Helpers for the importer tests: the independent Python reader and temp-file writing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace kiln::onnx::test {

inline std::filesystem::path tools_dir() { return kiln::test::source_dir() / "tests/tools"; }

// Runs `python3 tests/tools/<script> <file>` and parses its stdout as JSON (null on failure).
inline nlohmann::json run_python_json(const std::string& script, const std::filesystem::path& file) {
  std::string cmd = "python3";
  for (const std::string& arg : {(tools_dir() / script).string(), file.string()}) {
    cmd += " '";
    cmd += arg;
    cmd += "'";
  }
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return nullptr;
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  if (pclose(pipe) != 0) return nullptr;
  return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
}

inline void write_bytes(const std::filesystem::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace kiln::onnx::test
