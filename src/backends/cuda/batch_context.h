// One inference of a batch as chunks side by side: each chunk an engine prepared for its
// batch size (engines of one model, differing only in the batch), run by a context of its
// own on a stream of its own, its inputs and outputs rows of one shared buffer per graph
// input and output, so that the chunks read and write in place and nothing is copied.
// A batch between two prepared sizes (17 of an engine prepared for 16 and 32) runs as
// 16 + 1 in about the time of 17 rather than padded to 32 (yolo11n FP16 on an H100: 32
// rows take 1.73x the time of 17), where the GPU has room for both; engine/batch_splits.h
// chooses, by measuring, which batches run so. One chunk is the engine's context alone.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cuda/engine.h"
#include "ir/tensor.h"
#include "kiln/status.h"

namespace kiln::cuda {

class BatchContext {
 public:
  // `chunks` in row order. Several: Unsupported when an engine's input or output lacks its
  // batch as the leading dim, or the engines' other dims differ. One: any engine.
  static Result<std::unique_ptr<BatchContext>> create(const std::vector<const Engine*>& chunks);
  // Whether `engines` stack as chunks (create's check alone, nothing allocated).
  static Status check_stackable(const std::vector<const Engine*>& engines);
  ~BatchContext();
  BatchContext(const BatchContext&) = delete;
  BatchContext& operator=(const BatchContext&) = delete;

  int64_t rows() const { return rows_; }  // the chunks' batches summed
  size_t num_inputs() const { return input_dims_.size(); }
  size_t num_outputs() const { return output_dims_.size(); }
  // Dims with rows() as the batch.
  const std::vector<int64_t>& input_dims(size_t i) const { return input_dims_.at(i); }
  const std::vector<int64_t>& output_dims(size_t i) const { return output_dims_.at(i); }
  // Device buffers of graph input i and output i (FP32, all rows).
  float* input(size_t i) const { return inputs_.at(i); }
  const float* output(size_t i) const { return outputs_.at(i); }

  // Enqueues one inference of all rows on `stream` (not the legacy default stream): the
  // chunks forked onto their streams and joined back.
  Status enqueue(cudaStream_t stream);
  // Copies host inputs in (each of its input_dims, or n < rows() rows of them: the rest
  // zeros), runs, copies the outputs out (n rows of those that lead with rows()), waits.
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs);

 private:
  BatchContext() = default;

  int64_t rows_ = 0;
  std::vector<std::vector<int64_t>> input_dims_, output_dims_;
  std::vector<float*> inputs_, outputs_;  // owned
  std::vector<std::unique_ptr<ExecutionContext>> contexts_;  // by chunk
  std::vector<cudaStream_t> streams_;     // by chunk after the first (which runs on the caller's)
  std::vector<cudaEvent_t> done_;         // by chunk after the first
  cudaEvent_t fork_ = nullptr;
  cudaStream_t own_stream_ = nullptr;     // run()'s
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
