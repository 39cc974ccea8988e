// The execution context of a batch over a profile's prepared engines (engines of one
// model differing only in the batch): each inference runs one of them, or several side by
// side as chunks of the batch, each chunk a context of its own engine on a stream of its
// own whose inputs and outputs are rows of one shared buffer per graph input and output,
// so that the chunks read and write in place and nothing is copied. A batch between two
// prepared sizes (17 of an engine prepared for 16 and 32) runs as 16 + 1 in about the time
// of 17 rather than padded to 32 (yolo11n FP16 on an H100: 1.700 ms against 1.693 for an
// engine built for 17 and 2.909 padded); engine/batch_splits.h chooses, by measuring,
// which batches run so. Contexts are made on first use, one per engine and first row, and
// kept: every split and padded size of the profile share them, and their activation arenas
// are regions of one allocation, sized for the largest engine's rows.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "backends/cuda/engine.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::cuda {

class BatchContext {
 public:
  // `engines`: the prepared engines; the I/O buffers hold the largest of each input and
  // output. Nothing is selected yet.
  static Result<std::unique_ptr<BatchContext>> create(const std::vector<const Engine*>& engines);
  // Whether `engines` stack as chunks: every input and output leads with the engine's
  // batch, the other dims equal.
  static Status check_stackable(const std::vector<const Engine*>& engines);
  ~BatchContext();
  BatchContext(const BatchContext&) = delete;
  BatchContext& operator=(const BatchContext&) = delete;

  // Runs `chunks` (indices into the engines, in row order) from now on; several only where
  // they stack (else Unsupported).
  Status select(const std::vector<size_t>& chunks);

  // The selection's: its batches summed, and the dims with that batch.
  int64_t rows() const { return rows_; }
  size_t num_inputs() const { return input_dims_.size(); }
  size_t num_outputs() const { return output_dims_.size(); }
  const std::vector<int64_t>& input_dims(size_t i) const { return input_dims_.at(i); }
  const std::vector<int64_t>& output_dims(size_t i) const { return output_dims_.at(i); }
  // Device buffers of graph input i and output i (FP32, all rows).
  float* input(size_t i) const { return inputs_.at(i); }
  const float* output(size_t i) const { return outputs_.at(i); }

  // Enqueues one inference of the selection on `stream` (not the legacy default stream):
  // the chunks forked onto their streams and joined back.
  Status enqueue(cudaStream_t stream);
  // Copies host inputs in (each of its input_dims, or n < rows() rows of them: the rest
  // zeros), runs, copies the outputs out (n rows of those that lead with rows()), waits.
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs);

 private:
  BatchContext() = default;

  std::vector<const Engine*> engines_;
  std::vector<float*> inputs_, outputs_;  // owned, the largest engine's size
  void* arena_ = nullptr;                  // owned: arena_per_row_ bytes for each row
  size_t arena_per_row_ = 0;               // the most any engine's arena needs per row of its batch
  std::map<std::pair<size_t, int64_t>, std::unique_ptr<ExecutionContext>> contexts_;  // by engine, first row
  std::vector<size_t> selection_;            // select()'s chunks
  std::vector<ExecutionContext*> selected_;  // their contexts, in row order
  int64_t rows_ = 0;
  std::vector<std::vector<int64_t>> input_dims_, output_dims_;
  std::vector<cudaStream_t> streams_;  // by chunk after the first (which runs on the caller's)
  std::vector<cudaEvent_t> done_;      // by chunk after the first
  cudaEvent_t fork_ = nullptr;
  cudaStream_t own_stream_ = nullptr;  // run()'s
};

// Times prepared engines run side by side as a BatchContext runs them (each on a context
// and stream of its own, forked from one stream and joined back), from contexts made once
// per engine and reused, for choosing which batches to split (engine/batch_splits.h).
class ChunkTimer {
 public:
  // `engines` by index, ascending by batch; each may take part in a measured batch up to
  // twice, the last (largest) once.
  static Result<std::unique_ptr<ChunkTimer>> create(const std::vector<const Engine*>& engines);
  ~ChunkTimer();
  ChunkTimer(const ChunkTimer&) = delete;
  ChunkTimer& operator=(const ChunkTimer&) = delete;

  // Median GPU ms of `iters` runs of the engines at `chunks` (indices into engines) side by side.
  Result<double> median_ms(const std::vector<size_t>& chunks, int iters);

 private:
  ChunkTimer() = default;
  struct Lane {
    std::unique_ptr<ExecutionContext> context;
    cudaStream_t stream = nullptr;
    cudaEvent_t done = nullptr;
  };
  std::vector<std::vector<Lane>> lanes_;  // by engine: two contexts (the last one)
  cudaStream_t stream_ = nullptr;
  cudaEvent_t fork_ = nullptr;
  std::vector<cudaEvent_t> marks_;  // a start and a stop per timed run
};

}  // namespace kiln::cuda
