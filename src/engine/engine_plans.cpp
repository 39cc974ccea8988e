#include "engine/engine_plans.h"

#include <algorithm>

#include "core/json_text.h"

namespace kiln::engine {

using nlohmann::json;

std::vector<uint8_t> encode_plans(const EnginePlans& p) {
  if (p.empty()) return {};
  json prepared = json::array();
  for (const PreparedPlan& s : p.prepared) {
    json steps = json::array();
    for (const PlanStep& st : s.steps) steps.push_back({st.name, st.op, st.tactic});
    prepared.push_back({{"input", s.input},
                        {"structure_sha256", s.structure_sha256},
                        {"arena_bytes", s.arena_bytes},
                        {"workspace_bytes", s.workspace_bytes},
                        {"io_bytes", s.io_bytes},
                        {"cublas_bytes", s.cublas_bytes},
                        {"steps", steps}});
  }
  json doc{{"weight_bytes", p.weight_bytes}, {"prepared", prepared}};
  if (!p.splits.empty()) {
    json splits = json::array();
    for (const auto& [n, chunks] : p.splits) splits.push_back({n, chunks});
    doc["splits"] = std::move(splits);
  }
  const std::string text = json_text(doc);
  return std::vector<uint8_t>(text.begin(), text.end());
}

Result<EnginePlans> decode_plans(std::span<const uint8_t> bytes, const std::string& display_name) {
  EnginePlans p;
  if (bytes.empty()) return p;
  const json j = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return error(StatusCode::kCorrupt, display_name, ": not a valid kiln engine: plans section: ", why);
  };
  if (!j.is_object()) return bad("not JSON");
  try {
    p.weight_bytes = j.at("weight_bytes").get<uint64_t>();
    for (const json& s : j.at("prepared")) {
      PreparedPlan pp;
      pp.input = s.at("input").get<std::vector<int64_t>>();
      pp.structure_sha256 = s.at("structure_sha256").get<std::string>();
      pp.arena_bytes = s.at("arena_bytes").get<uint64_t>();
      pp.workspace_bytes = s.at("workspace_bytes").get<uint64_t>();
      pp.io_bytes = s.at("io_bytes").get<uint64_t>();
      pp.cublas_bytes = s.at("cublas_bytes").get<uint64_t>();
      for (const json& st : s.at("steps")) {
        if (!st.is_array() || st.size() != 3) return bad("a step is not [name, op, tactic]");
        pp.steps.push_back({st[0].get<std::string>(), st[1].get<std::string>(), st[2].get<std::string>()});
      }
      if (pp.input.size() != 4 || pp.input[0] < 1) return bad("a prepared shape has no [batch, c, h, w] input");
      p.prepared.push_back(std::move(pp));
    }
    if (j.contains("splits")) {
      std::vector<int64_t> batches;
      for (const PreparedPlan& pp : p.prepared) batches.push_back(pp.input[0]);
      for (const json& s : j.at("splits")) {
        if (!s.is_array() || s.size() != 2) return bad("a batch split is not [rows, [batches]]");
        const auto n = s[0].get<int64_t>();
        const auto chunks = s[1].get<std::vector<int64_t>>();
        int64_t rows = 0;
        for (int64_t c : chunks) {
          if (std::find(batches.begin(), batches.end(), c) == batches.end())
            return bad("batch split of " + std::to_string(n) + " names batch " + std::to_string(c) + ", not prepared");
          rows += c;
        }
        if (batches.empty() || n <= batches.front() || n >= batches.back() || chunks.size() < 2 || rows < n ||
            rows > batches.back())
          return bad("batch split of " + std::to_string(n) + " does not fit the prepared batches");
        p.splits[n] = chunks;
      }
    }
  } catch (const json::exception&) {
    return bad("a field is missing or of the wrong type");
  }
  return p;
}

}  // namespace kiln::engine
