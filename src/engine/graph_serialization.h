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

// One tensor: dtype, rank, dims, byte count, bytes. 
void write_tensor(ByteWriter& w, const ir::Tensor& t);
ir::Tensor read_tensor(ByteReader& r);  // sets r's failure on malformed data

}  // namespace kiln::engine
