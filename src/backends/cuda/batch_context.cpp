#include "backends/cuda/batch_context.h"

#include <algorithm>

#include "backends/cuda/cuda_check.h"

namespace kiln::cuda {

namespace {

int64_t numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// The rows an engine's run takes in the shared buffers: its batch.
int64_t rows_of(const Engine& e) { return e.input_dims(0).empty() ? 1 : std::max<int64_t>(e.input_dims(0)[0], 1); }

// `dims` of every chunk with their batches summed, or Unsupported where they do not stack.
Result<std::vector<int64_t>> stacked(const std::vector<const Engine*>& chunks, bool input, size_t i) {
  std::vector<int64_t> out;
  for (const Engine* e : chunks) {
    const std::vector<int64_t>& d = input ? e->input_dims(i) : e->output_dims(i);
    const int64_t batch = e->input_dims(0).empty() ? 0 : e->input_dims(0)[0];
    if (d.empty() || d[0] != batch)
      return error(StatusCode::kUnsupported, "chunked batch: ", input ? "input " : "output ", i, " ",
                   ir::shape_to_string(d), " does not lead with the batch ", batch);
    if (out.empty()) {
      out = d;
      continue;
    }
    if (!std::equal(d.begin() + 1, d.end(), out.begin() + 1, out.end()))
      return error(StatusCode::kUnsupported, "chunked batch: ", input ? "input " : "output ", i, " ",
                   ir::shape_to_string(d), " differs from ", ir::shape_to_string(out), " beyond the batch");
    out[0] += d[0];
  }
  return out;
}

}  // namespace

Status BatchContext::check_stackable(const std::vector<const Engine*>& engines) {
  if (engines.empty()) return error(StatusCode::kInvalidArgument, "chunked batch: no chunks");
  const Engine& first = *engines.front();
  for (const Engine* e : engines)
    if (e->num_inputs() != first.num_inputs() || e->num_outputs() != first.num_outputs() || first.num_inputs() == 0)
      return error(StatusCode::kUnsupported, "chunked batch: the engines' inputs and outputs differ");
  for (size_t i = 0; i < first.num_inputs(); ++i) KILN_RETURN_IF_ERROR(stacked(engines, true, i).status());
  for (size_t i = 0; i < first.num_outputs(); ++i) KILN_RETURN_IF_ERROR(stacked(engines, false, i).status());
  return Status::Ok();
}

Result<std::unique_ptr<BatchContext>> BatchContext::create(const std::vector<const Engine*>& engines) {
  if (engines.empty()) return error(StatusCode::kInvalidArgument, "batch context: no engines");
  std::unique_ptr<BatchContext> b(new BatchContext());
  b->engines_ = engines;
  const Engine& first = *engines.front();
  for (const Engine* e : engines)
    if (e->num_inputs() != first.num_inputs() || e->num_outputs() != first.num_outputs())
      return error(StatusCode::kInvalidArgument, "batch context: the engines' inputs and outputs differ");
  auto alloc = [&](bool input, size_t i, std::vector<float*>& into) -> Status {
    int64_t most = 1;
    for (const Engine* e : engines) most = std::max(most, numel(input ? e->input_dims(i) : e->output_dims(i)));
    float* p = nullptr;
    KILN_CUDA_TRY(cudaMalloc(&p, static_cast<size_t>(most) * sizeof(float)), "cudaMalloc batch I/O");
    into.push_back(p);
    return Status::Ok();
  };
  for (size_t i = 0; i < first.num_inputs(); ++i) KILN_RETURN_IF_ERROR(alloc(true, i, b->inputs_));
  for (size_t i = 0; i < first.num_outputs(); ++i) KILN_RETURN_IF_ERROR(alloc(false, i, b->outputs_));
  // One arena for every context, a region per first row: a context's arena fits in its rows'
  // share (arena_per_row_ x its batch), so the chunks of a selection, on disjoint rows, never
  // overlap, and contexts of different selections, which never run at once, reuse the memory.
  int64_t most_rows = 1;
  for (const Engine* e : engines) {
    const int64_t rows = rows_of(*e);
    most_rows = std::max(most_rows, rows);
    const size_t per_row = (e->memory().arena + static_cast<size_t>(rows) - 1) / static_cast<size_t>(rows);
    b->arena_per_row_ = std::max(b->arena_per_row_, (per_row + 255) / 256 * 256);
  }
  if (b->arena_per_row_)
    KILN_CUDA_TRY(cudaMalloc(&b->arena_, b->arena_per_row_ * static_cast<size_t>(most_rows)), "cudaMalloc batch arena");
  KILN_CUDA_TRY(cudaEventCreateWithFlags(&b->fork_, cudaEventDisableTiming), "cudaEventCreate");
  return b;
}

Status BatchContext::select(const std::vector<size_t>& chunks) {
  if (chunks == selection_) return Status::Ok();  // a session mostly runs one size after another
  std::vector<const Engine*> picked;
  for (size_t c : chunks) {
    if (c >= engines_.size()) return error(StatusCode::kInvalidArgument, "batch context: no engine ", c);
    picked.push_back(engines_[c]);
  }
  if (picked.empty()) return error(StatusCode::kInvalidArgument, "batch context: nothing selected");
  std::vector<std::vector<int64_t>> in, out;
  if (picked.size() == 1) {  // the engine as it is, whatever its dims
    for (size_t i = 0; i < picked[0]->num_inputs(); ++i) in.push_back(picked[0]->input_dims(i));
    for (size_t i = 0; i < picked[0]->num_outputs(); ++i) out.push_back(picked[0]->output_dims(i));
  } else {  // the engines' input and output counts agree (create)
    for (size_t i = 0; i < picked[0]->num_inputs(); ++i) {
      KILN_ASSIGN_OR_RETURN(auto d, stacked(picked, true, i));
      in.push_back(std::move(d));
    }
    for (size_t i = 0; i < picked[0]->num_outputs(); ++i) {
      KILN_ASSIGN_OR_RETURN(auto d, stacked(picked, false, i));
      out.push_back(std::move(d));
    }
    for (size_t i = 0; i < in.size(); ++i)  // the engines' largest holds every stacked selection
      if (numel(in[i]) > numel(engines_.back()->input_dims(i)))
        return error(StatusCode::kInvalidArgument, "batch context: ", ir::shape_to_string(in[i]), " exceeds the buffers");
  }
  // Chunk c reads and writes from the row where the chunks before it end.
  std::vector<ExecutionContext*> selected;
  int64_t row = 0;
  for (size_t c = 0; c < chunks.size(); ++c) {
    const Engine& e = *picked[c];
    std::unique_ptr<ExecutionContext>& ctx = contexts_[{chunks[c], row}];
    if (!ctx) {
      IoAddresses io;
      for (size_t i = 0; i < e.num_inputs(); ++i)
        io.inputs.push_back(inputs_[i] + row * (numel(e.input_dims(i)) / std::max<int64_t>(e.input_dims(i)[0], 1)));
      for (size_t i = 0; i < e.num_outputs(); ++i)
        io.outputs.push_back(outputs_[i] + row * (numel(e.output_dims(i)) / std::max<int64_t>(e.output_dims(i)[0], 1)));
      if (arena_) io.arena = static_cast<uint8_t*>(arena_) + arena_per_row_ * static_cast<size_t>(row);
      auto made = ExecutionContext::create(e, true, &io);
      if (!made.ok()) {
        contexts_.erase({chunks[c], row});
        return made.status();
      }
      ctx = std::move(*made);
    }
    selected.push_back(ctx.get());
    row += rows_of(e);
  }
  while (streams_.size() + 1 < selected.size()) {
    cudaStream_t s = nullptr;
    KILN_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate for a chunk");
    streams_.push_back(s);
    cudaEvent_t done = nullptr;
    KILN_CUDA_TRY(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
    done_.push_back(done);
  }
  selected_ = std::move(selected);
  selection_ = chunks;
  input_dims_ = std::move(in);
  output_dims_ = std::move(out);
  rows_ = input_dims_.empty() || input_dims_[0].empty() ? 1 : input_dims_[0][0];
  return Status::Ok();
}

BatchContext::~BatchContext() {
  contexts_.clear();
  for (cudaEvent_t e : done_) cudaEventDestroy(e);
  if (fork_) cudaEventDestroy(fork_);
  for (cudaStream_t s : streams_) cudaStreamDestroy(s);
  if (own_stream_) cudaStreamDestroy(own_stream_);
  for (float* p : inputs_) cudaFree(p);
  for (float* p : outputs_) cudaFree(p);
  if (arena_) cudaFree(arena_);
}

Status BatchContext::enqueue(cudaStream_t stream) {
  if (stream == nullptr) return error(StatusCode::kInvalidArgument, "enqueue needs a created stream, not the default one");
  if (selected_.empty()) return error(StatusCode::kInternal, "batch context: enqueue before select");
  if (selected_.size() > 1) {
    KILN_CUDA_TRY(cudaEventRecord(fork_, stream), "cudaEventRecord");
    for (size_t c = 1; c < selected_.size(); ++c)
      KILN_CUDA_TRY(cudaStreamWaitEvent(streams_[c - 1], fork_, 0), "cudaStreamWaitEvent");
  }
  // The later chunks first: the first, on the caller's stream, is the largest.
  for (size_t c = selected_.size(); c-- > 1;) {
    KILN_RETURN_IF_ERROR(selected_[c]->enqueue(streams_[c - 1]));
    KILN_CUDA_TRY(cudaEventRecord(done_[c - 1], streams_[c - 1]), "cudaEventRecord");
  }
  KILN_RETURN_IF_ERROR(selected_.front()->enqueue(stream));
  for (size_t c = 1; c < selected_.size(); ++c) KILN_CUDA_TRY(cudaStreamWaitEvent(stream, done_[c - 1], 0), "cudaStreamWaitEvent");
  return Status::Ok();
}

Result<std::vector<ir::Tensor>> BatchContext::run(const std::vector<ir::Tensor>& inputs) {
  if (inputs.size() != input_dims_.size())
    return error(StatusCode::kInvalidArgument, "expected ", input_dims_.size(), " inputs, got ", inputs.size());
  if (!own_stream_) KILN_CUDA_TRY(cudaStreamCreateWithFlags(&own_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  // n rows of the first input; an input of the engine's own dims goes in as it is, one of n
  // rows (n < rows()) gets zero rows after its own.
  const int64_t n = inputs.empty() || inputs[0].rank() == 0 ? rows_ : inputs[0].dim(0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int64_t>& d = input_dims_[i];
    const ir::Tensor& t = inputs[i];
    const bool whole = t.shape() == d;
    const bool rows = !whole && n < rows_ && n >= 1 && t.rank() == d.size() && t.rank() > 0 && t.dim(0) == n &&
                      d[0] == rows_ && std::equal(d.begin() + 1, d.end(), t.shape().begin() + 1);
    if (t.dtype() != ir::DType::kFloat32 || (!whole && !rows))
      return error(StatusCode::kInvalidArgument, "input ", i, " must be float32 ", ir::shape_to_string(d), " (1 to ", rows_,
                   " rows), got ", ir::dtype_name(t.dtype()), " ", ir::shape_to_string(t.shape()));
    KILN_CUDA_TRY(cudaMemcpyAsync(inputs_[i], t.raw(), t.nbytes(), cudaMemcpyHostToDevice, own_stream_), "copy of an input");
    if (rows)
      KILN_CUDA_TRY(cudaMemsetAsync(reinterpret_cast<uint8_t*>(inputs_[i]) + t.nbytes(), 0,
                                    (rows_ - n) * (t.nbytes() / n), own_stream_),
                    "input padding");
  }
  KILN_RETURN_IF_ERROR(enqueue(own_stream_));
  std::vector<ir::Tensor> outs;
  for (size_t i = 0; i < output_dims_.size(); ++i) {
    std::vector<int64_t> d = output_dims_[i];
    if (!d.empty() && d[0] == rows_) d[0] = n;  // the padding rows' outputs dropped
    outs.emplace_back(ir::DType::kFloat32, d);
    KILN_CUDA_TRY(cudaMemcpyAsync(outs.back().raw(), outputs_[i], outs.back().nbytes(), cudaMemcpyDeviceToHost, own_stream_),
                  "copy of an output");
  }
  KILN_CUDA_TRY(cudaStreamSynchronize(own_stream_), "inference");
  return outs;
}

Result<std::unique_ptr<ChunkTimer>> ChunkTimer::create(const std::vector<const Engine*>& engines) {
  std::unique_ptr<ChunkTimer> t(new ChunkTimer());
  KILN_CUDA_TRY(cudaStreamCreateWithFlags(&t->stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  KILN_CUDA_TRY(cudaEventCreateWithFlags(&t->fork_, cudaEventDisableTiming), "cudaEventCreate");
  for (size_t i = 0; i < engines.size(); ++i) {
    const Engine* e = engines[i];
    t->lanes_.emplace_back();
    for (size_t k = 0; k < (i + 1 < engines.size() ? 2u : 1u); ++k) {
      Lane lane;
      KILN_ASSIGN_OR_RETURN(lane.context, ExecutionContext::create(*e));
      KILN_CUDA_TRY(cudaStreamCreateWithFlags(&lane.stream, cudaStreamNonBlocking), "cudaStreamCreate");
      KILN_CUDA_TRY(cudaEventCreateWithFlags(&lane.done, cudaEventDisableTiming), "cudaEventCreate");
      // An eager run and the capture, away from the timed runs.
      for (int w = 0; w < 2; ++w) KILN_RETURN_IF_ERROR(lane.context->enqueue(lane.stream));
      t->lanes_.back().push_back(std::move(lane));
    }
  }
  KILN_CUDA_TRY(cudaDeviceSynchronize(), "chunk timer warm-up");
  return t;
}

ChunkTimer::~ChunkTimer() {
  for (auto& by_engine : lanes_)
    for (Lane& l : by_engine) {
      l.context.reset();
      if (l.done) cudaEventDestroy(l.done);
      if (l.stream) cudaStreamDestroy(l.stream);
    }
  for (cudaEvent_t e : marks_) cudaEventDestroy(e);
  if (fork_) cudaEventDestroy(fork_);
  if (stream_) cudaStreamDestroy(stream_);
}

Result<double> ChunkTimer::median_ms(const std::vector<size_t>& chunks, int iters) {
  if (iters < 1 || chunks.empty()) return error(StatusCode::kInvalidArgument, "chunk timer: nothing to time");
  std::vector<Lane*> use;
  std::vector<int> taken(lanes_.size(), 0);
  for (size_t c : chunks) {
    if (c >= lanes_.size() || taken[c] == static_cast<int>(lanes_[c].size()))
      return error(StatusCode::kInvalidArgument, "chunk timer: engine ", c, " unknown or asked for too often");
    use.push_back(&lanes_[c][taken[c]++]);
  }
  // As kiln bench times a replay: events around each run, the runs queued back to back.
  const int runs = iters + 1;  // run 0 warms the lanes up together
  while (marks_.size() < static_cast<size_t>(2 * runs)) {
    cudaEvent_t e = nullptr;
    KILN_CUDA_TRY(cudaEventCreate(&e), "cudaEventCreate");
    marks_.push_back(e);
  }
  for (int it = 0; it < runs; ++it) {
    KILN_CUDA_TRY(cudaEventRecord(marks_[2 * it], stream_), "cudaEventRecord");
    KILN_CUDA_TRY(cudaEventRecord(fork_, stream_), "cudaEventRecord");
    for (Lane* l : use) {
      KILN_CUDA_TRY(cudaStreamWaitEvent(l->stream, fork_, 0), "cudaStreamWaitEvent");
      KILN_RETURN_IF_ERROR(l->context->enqueue(l->stream));
      KILN_CUDA_TRY(cudaEventRecord(l->done, l->stream), "cudaEventRecord");
    }
    for (Lane* l : use) KILN_CUDA_TRY(cudaStreamWaitEvent(stream_, l->done, 0), "cudaStreamWaitEvent");
    KILN_CUDA_TRY(cudaEventRecord(marks_[2 * it + 1], stream_), "cudaEventRecord");
  }
  KILN_CUDA_TRY(cudaStreamSynchronize(stream_), "timed chunks");
  std::vector<float> ms;
  for (int it = 1; it < runs; ++it) {
    float t = 0;
    KILN_CUDA_TRY(cudaEventElapsedTime(&t, marks_[2 * it], marks_[2 * it + 1]), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return double(ms[ms.size() / 2]);
}

}  // namespace kiln::cuda
