#include "backends/cuda/plan.h"

#include <cstring>

#include "backends/cuda/concat_views.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/fp32_tail.h"
#include "backends/cuda/kernels.h"
#include "core/half.h"

namespace kiln::cuda {

int64_t Slot::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

size_t Slot::bytes() const { return static_cast<size_t>(numel()) * ir::dtype_size(dtype); }

std::vector<int64_t> Slot::logical_strides() const {
  std::vector<int64_t> st(dims.size(), 1);
  if (layout == Layout::kNHWC) {  // physical order N,H,W,C
    const int64_t c = packed() ? dims[1] : pixel_stride, h = dims[2], w = dims[3];
    return {h * w * c, 1, w * c, c};
  }
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * dims[i + 1];
  return st;
}

namespace {

class CopyStep : public Step {
 public:
  int src = 0, dst = 0;
  std::vector<int64_t> dims, src_strides, dst_strides;
  int64_t src_offset = 0, dst_offset = 0;
  ir::DType src_type{}, dst_type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const auto* in = static_cast<const uint8_t*>(st.ptr[src]) + src_offset * ir::dtype_size(src_type);
    auto* out = static_cast<uint8_t*>(st.ptr[dst]) + dst_offset * ir::dtype_size(dst_type);
    Status s = launch_strided_copy(in, src_type, out, dst_type, dims, src_strides, dst_strides, stream);
    if (!s.ok()) return error(s.code(), name, ": ", s.message());
    return Status::Ok();
  }
};

class CopyGroupStep : public Step {
 public:
  std::vector<CopySpec> copies;
  ir::DType type{};

  Status enqueue(const ExecState& st, cudaStream_t stream) const override {
    const size_t es = ir::dtype_size(type);
    std::vector<CopyDesc> descs;
    descs.reserve(copies.size());
    for (const CopySpec& c : copies)
      descs.push_back({static_cast<const uint8_t*>(st.ptr[c.src]) + c.src_offset * es,
                       static_cast<uint8_t*>(st.ptr[c.dst]) + c.dst_offset * es, c.dims, c.src_strides,
                       c.dst_strides});
    Status s = launch_strided_copies(descs, type, stream);
    if (!s.ok()) return error(s.code(), name, ": ", s.message());
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Step> make_copy_group_step(std::string name, std::vector<CopySpec> copies, ir::DType type) {
  auto step = std::make_unique<CopyGroupStep>();
  step->name = std::move(name);
  step->tactic = "strided_copy_group";
  for (const CopySpec& c : copies) {
    step->reads.push_back(c.src);
    step->writes.push_back(c.dst);
  }
  step->copies = std::move(copies);
  step->type = type;
  return step;
}

std::unique_ptr<Step> make_copy_step(std::string name, int src, int dst, std::vector<int64_t> dims,
                                     std::vector<int64_t> src_strides, int64_t src_offset,
                                     std::vector<int64_t> dst_strides, int64_t dst_offset, ir::DType src_type,
                                     ir::DType dst_type) {
  auto step = std::make_unique<CopyStep>();
  step->name = std::move(name);
  step->tactic = "strided_copy";
  step->src = src;
  step->dst = dst;
  step->dims = std::move(dims);
  step->src_strides = std::move(src_strides);
  step->dst_strides = std::move(dst_strides);
  step->src_offset = src_offset;
  step->dst_offset = dst_offset;
  step->src_type = src_type;
  step->dst_type = dst_type;
  step->reads = {src};
  step->writes = {dst};
  return step;
}

PlanBuilder::PlanBuilder(const ir::Graph& graph, const BuildOptions& options, Handles handles,
                         std::shared_ptr<WeightStore> weights)
    : graph_(graph), options_(options), handles_(handles), weights_(std::move(weights)) {}

PlanBuilder::~PlanBuilder() = default;

Result<cudnnHandle_t> PlanBuilder::worker_cudnn(size_t i) {
  while (worker_cudnn_.size() <= i) {
    cudnnHandle_t h = nullptr;
    KILN_RETURN_IF_ERROR(cudnn_status(cudnnCreate(&h), "cudnnCreate (plan compile worker)"));
    worker_cudnn_.push_back(h);
  }
  return worker_cudnn_[i];
}

int PlanBuilder::new_slot(Slot s) {
  slots_.push_back(std::move(s));
  return static_cast<int>(slots_.size()) - 1;
}

Result<std::vector<int64_t>> PlanBuilder::dims_of(const ir::Node& node, const ir::Value* v) const {
  if (v->is_constant()) return v->initializer->shape();
  if (!v->shape || !ir::is_static(*v->shape))
    return error(StatusCode::kUnsupported, "value '", v->name, "' of node '", node.name,
                 "' has no static shape (bind the symbolic dims before building)");
  return ir::static_dims(*v->shape);
}

Result<const void*> PlanBuilder::upload(const void* data, size_t bytes, const std::string& what) {
  return weights_->upload(data, bytes, what);
}

const ir::Tensor* PlanBuilder::constant_input(const ir::Node& node, size_t i) const {
  const ir::Value* v = node.input(i);
  return v && v->is_constant() ? &*v->initializer : nullptr;
}

Result<int> PlanBuilder::slot_of(const ir::Node& node, const ir::Value* v) {
  auto it = value_slot_.find(v);
  if (it != value_slot_.end()) return it->second;
  if (!v->is_constant())
    return error(StatusCode::kInternal, "input '", v->name, "' of node '", node.name, "' was never computed");
  // Constants are uploaded in the dtype of the node reading them (the FP32 tail of an FP16
  // engine may share one with the FP16 part); no convert step runs on them.
  auto made = constant_slots_.find({v, act_dtype()});
  if (made != constant_slots_.end()) return made->second;
  const ir::Tensor& t = *v->initializer;
  if (t.dtype() != ir::DType::kFloat32 && t.dtype() != ir::DType::kFloat16)
    return error(StatusCode::kUnsupported, "constant '", v->name, "' of node '", node.name, "' has dtype ",
                 ir::dtype_name(t.dtype()), "; the CUDA backend computes on float tensors only");
  ir::Tensor f = t.to_float32();
  Slot s;
  s.name = v->name;
  s.dims = t.shape();
  s.dtype = act_dtype();
  std::vector<uint8_t> bytes(s.bytes());
  if (s.dtype == ir::DType::kFloat16) {
    auto* h = reinterpret_cast<uint16_t*>(bytes.data());
    for (int64_t i = 0; i < f.numel(); ++i) h[i] = kiln::float_to_half(f.data<float>()[i]);
  } else {
    std::memcpy(bytes.data(), f.raw(), bytes.size());
  }
  KILN_ASSIGN_OR_RETURN(s.constant, upload(bytes.data(), bytes.size(), "constant '" + v->name + "'"));
  int id = new_slot(std::move(s));
  constant_slots_[{v, act_dtype()}] = id;
  return id;
}

Result<int> PlanBuilder::convert(int src, Layout layout, ir::DType dtype, const std::string& why) {
  const Slot& s = slots_[src];
  if (s.layout == layout && s.dtype == dtype && s.packed()) return src;
  if ((s.dtype == ir::DType::kInt8) != (dtype == ir::DType::kInt8))
    return error(StatusCode::kUnsupported, "'", s.name, "' is ", ir::dtype_name(s.dtype), "; ", why, " reads ",
                 ir::dtype_name(dtype), " (int8 and float meet only through QuantizeLinear / DequantizeLinear)");
  if (layout == Layout::kNHWC && s.dims.size() != 4)
    return error(StatusCode::kUnsupported, "'", s.name, "' has rank ", s.dims.size(), "; ", why,
                 " needs a rank-4 NCHW tensor");
  auto key = std::make_pair(src, static_cast<int>(layout) * 16 + static_cast<int>(dtype));
  auto it = converted_.find(key);
  if (it != converted_.end()) return it->second;
  Slot d;
  d.name = s.name + (s.layout == layout && s.dtype == dtype ? "#packed" : layout == Layout::kNHWC ? "#nhwc" : "#linear");
  d.dims = s.dims;
  d.layout = layout;
  d.dtype = dtype;
  std::vector<int64_t> src_strides = s.logical_strides();
  ir::DType src_type = s.dtype;
  std::vector<int64_t> dims = s.dims;
  int dst = new_slot(std::move(d));
  add_step(make_copy_step("convert " + slots_[src].name, src, dst, dims, src_strides, 0,
                          slots_[dst].logical_strides(), 0, src_type, dtype));
  steps_.back()->op = "(convert)";
  converted_[key] = dst;
  return dst;
}

Result<int> PlanBuilder::input(const ir::Node& node, size_t i, Layout layout) {
  const ir::Value* v = node.input(i);
  if (!v) return error(StatusCode::kInvalidArgument, "node '", node.name, "' lacks input ", i);
  KILN_ASSIGN_OR_RETURN(int s, slot_of(node, v));
  return convert(s, layout, act_dtype(), node.op_type);
}

Result<int> PlanBuilder::input_as(const ir::Node& node, size_t i, Layout layout, ir::DType dtype) {
  const ir::Value* v = node.input(i);
  if (!v) return error(StatusCode::kInvalidArgument, "node '", node.name, "' lacks input ", i);
  KILN_ASSIGN_OR_RETURN(int s, slot_of(node, v));
  return convert(s, layout, dtype, node.op_type);
}

Result<int> PlanBuilder::input_as_is(const ir::Node& node, size_t i) {
  const ir::Value* v = node.input(i);
  if (!v) return error(StatusCode::kInvalidArgument, "node '", node.name, "' lacks input ", i);
  return slot_of(node, v);
}

Result<int> PlanBuilder::input_keep_views(const ir::Node& node, size_t i, std::optional<Layout> layout) {
  const ir::Value* v = node.input(i);
  if (!v) return error(StatusCode::kInvalidArgument, "node '", node.name, "' lacks input ", i);
  KILN_ASSIGN_OR_RETURN(int s, slot_of(node, v));
  if (!slots_[s].packed() && slots_[s].dtype == act_dtype()) return s;
  return convert(s, layout.value_or(slots_[s].layout), act_dtype(), node.op_type);
}

Result<int> PlanBuilder::input_any_layout(const ir::Node& node, size_t i) {
  const ir::Value* v = node.input(i);
  if (!v) return error(StatusCode::kInvalidArgument, "node '", node.name, "' lacks input ", i);
  KILN_ASSIGN_OR_RETURN(int s, slot_of(node, v));
  return convert(s, slots_[s].layout, act_dtype(), node.op_type);
}

int PlanBuilder::define(const ir::Value* value, std::vector<int64_t> dims, Layout layout) {
  return define(value, std::move(dims), layout, act_dtype());
}

int PlanBuilder::define(const ir::Value* value, std::vector<int64_t> dims, Layout layout, ir::DType dtype) {
  Slot s;
  s.name = value->name;
  s.dims = std::move(dims);
  s.layout = layout;
  s.dtype = dtype;
  int id = new_slot(std::move(s));
  value_slot_[value] = id;
  return id;
}

int PlanBuilder::define_view(const ir::Value* value, int base, size_t byte_offset, std::vector<int64_t> dims) {
  const Slot& b = slots_[base];
  Slot s;
  s.name = value->name;
  s.dims = std::move(dims);
  s.layout = Layout::kLinear;
  s.dtype = b.dtype;
  s.constant = b.constant ? static_cast<const uint8_t*>(b.constant) + byte_offset : nullptr;
  s.root = b.constant ? -1 : (b.root >= 0 ? b.root : base);
  s.offset = b.constant ? 0 : b.offset + byte_offset;
  int id = new_slot(std::move(s));
  value_slot_[value] = id;
  return id;
}

int PlanBuilder::define_channel_view(const ir::Value* value, int base, int64_t c0, int64_t channels) {
  const Slot& b = slots_[base];
  Slot s;
  s.name = value->name;
  s.dims = b.dims;
  s.dims[1] = channels;
  s.layout = Layout::kNHWC;
  s.dtype = b.dtype;
  s.root = b.root >= 0 ? b.root : base;
  s.offset = b.offset + static_cast<size_t>(c0) * ir::dtype_size(b.dtype);
  s.pixel_stride = b.packed() ? b.dims[1] : b.pixel_stride;
  int id = new_slot(std::move(s));
  value_slot_[value] = id;
  return id;
}

int64_t PlanBuilder::placed_pixel_stride(const ir::Value* value) const {
  auto it = placements_.find(value);
  if (it == placements_.end()) return 0;
  return ir::static_dims(*it->second.buffer->shape)[1];
}

int PlanBuilder::define_placed(const ir::Value* value, std::vector<int64_t> dims) {
  auto it = placements_.find(value);
  if (it == placements_.end()) return define(value, std::move(dims), Layout::kNHWC);
  const ChannelPlacement& p = it->second;
  auto buf = value_slot_.find(p.buffer);
  // The Concat's output buffer, made by the first of its operands to be planned.
  const int root = buf != value_slot_.end() ? buf->second
                                            : define(p.buffer, ir::static_dims(*p.buffer->shape), Layout::kNHWC);
  ++stats_.channel_views;
  return define_channel_view(value, root, p.channel, dims[1]);
}

const ir::Node* PlanBuilder::sole_consumer(const ir::Value* v) const {
  if (graph_.is_graph_output(v)) return nullptr;
  auto users = graph_.consumers(v);
  return users.size() == 1 ? users[0] : nullptr;
}

Status PlanBuilder::build() {
  engine_dtype_ = float_precision(options_) == Precision::kFp16 ? ir::DType::kFloat16 : ir::DType::kFloat32;
  fp32_nodes_ = engine_dtype_ == ir::DType::kFloat16 && options_.fp32_tail ? fp32_tail(graph_) : std::set<const ir::Node*>{};
  stats_.fp32_tail_nodes = static_cast<int>(fp32_nodes_.size());
  placements_ = place_concat_operands(graph_, options_, ir::dtype_size(engine_dtype_), fp32_nodes_);
  for (const ir::Value* in : graph_.inputs) {
    Slot s;
    s.name = in->name;
    if (!in->shape || !ir::is_static(*in->shape))
      return error(StatusCode::kUnsupported, "graph input '", in->name, "' has shape ",
                   in->shape ? ir::shape_to_string(*in->shape) : "?",
                   "; the CUDA backend builds for static shapes (bind the symbolic dims)");
    if (in->dtype != ir::DType::kFloat32)
      return error(StatusCode::kUnsupported, "graph input '", in->name, "' has dtype ", ir::dtype_name(in->dtype),
                   "; expected float32");
    s.dims = ir::static_dims(*in->shape);
    s.persistent = true;
    int id = new_slot(std::move(s));
    value_slot_[in] = id;
    input_slots_.push_back(id);
  }
  for (const auto& node : graph_.nodes()) {
    if (is_skipped(node.get())) continue;
    OpPlanner planner = find_op(node->op_type);
    if (!planner)
      return error(StatusCode::kUnsupported, "CUDA backend has no kernel for op ", node->op_type, " (node '",
                   node->name, "')");
    act_dtype_ = act_dtype_of(node.get());
    const size_t first_new = steps_.size();
    Status st = planner(*this, *node);
    for (size_t i = first_new; i < steps_.size(); ++i)
      if (steps_[i]->op.empty()) steps_[i]->op = node->op_type;
    if (!st.ok())
      return error(st.code(), "CUDA backend, node '", node->name, "' (", node->op_type, "): ", st.message());
  }
  for (const ir::Value* out : graph_.outputs) {
    auto it = value_slot_.find(out);
    if (it == value_slot_.end())
      return error(StatusCode::kInternal, "graph output '", out->name, "' was never computed");
    const Slot src = slots_[it->second];
    if (src.dtype == ir::DType::kInt8)
      return error(StatusCode::kUnsupported, "graph output '", out->name,
                   "' is int8; the CUDA backend returns float outputs (end the graph with a DequantizeLinear)");
    // A packed FP32 tensor that a step computed becomes the output buffer itself (the
    // detect head's [N, 84, 8400] Concat: a 64 us copy at batch 32 on an H100); others are
    // copied out, converted to FP32 and packed.
    const bool computed = src.root < 0 && !src.persistent && !src.constant;
    if (computed && src.dtype == ir::DType::kFloat32 && src.layout == Layout::kLinear && src.packed()) {
      slots_[it->second].persistent = true;
      output_slots_.push_back(it->second);
      continue;
    }
    Slot d;
    d.name = out->name;
    d.dims = src.dims;
    d.persistent = true;
    int dst = new_slot(std::move(d));
    add_step(make_copy_step("output " + out->name, it->second, dst, src.dims, src.logical_strides(), 0,
                            slots_[dst].logical_strides(), 0, src.dtype, ir::DType::kFloat32));
    steps_.back()->op = "(output)";
    output_slots_.push_back(dst);
  }
  return Status::Ok();
}

}  // namespace kiln::cuda
