// ir::Graph <-> bytes, for the engine file's graph and weights sections. Everything a
// Graph holds round-trips: values (dtype, shape with symbolic dims), nodes (op, domain,
// name, inputs incl. omitted ones, outputs, every AttrValue kind), graph inputs/outputs,
// metadata, opset and source path; initializers go to the separate weights section.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::engine {

class ByteReader;
class ByteWriter;

struct SerializedGraph {
  std::vector<uint8_t> graph;    // structure
  std::vector<uint8_t> weights;  // initializer tensors
};

SerializedGraph serialize_graph(const ir::Graph& graph);

// Corrupt (naming `display_name`) when the bytes do not describe a valid graph.
Result<ir::Graph> deserialize_graph(std::span<const uint8_t> graph, std::span<const uint8_t> weights,
                                    const std::string& display_name);

// A checksum only proves that a file is what some writer wrote, not that its graph is sane:
// a loaded graph is checked as an imported one is before anything plans or runs it. Ops are
// kiln's, every input and output is defined, every computed value has a shape, weights match
// their declared type and shape, and shape inference (which checks every attribute, e.g.
// window strides and pads, and every tensor size) reproduces the recorded shapes. Corrupt
// "<display_name>: invalid engine graph: <problem>" otherwise.
Status validate_loaded_graph(ir::Graph& graph, const std::string& display_name);

// One tensor: dtype, rank, dims, byte count, bytes.
void write_tensor(ByteWriter& w, const ir::Tensor& t);
ir::Tensor read_tensor(ByteReader& r);  // sets r's failure on malformed data

}  // namespace kiln::engine
