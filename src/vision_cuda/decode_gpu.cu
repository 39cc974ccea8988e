#include "vision_cuda/decode_gpu.h"

#include <algorithm>
#include <cmath>

#include "vision_cuda/decode_math.cuh"

namespace kiln::vision_cuda {

namespace {

constexpr int kSortBlock = 256;
constexpr int kWarp = 32;

// An anchor whose best class passed the filters. box: xyxy in input pixels, or for
// rotated boxes cx cy w h (with `angle`).
struct Cand {
  float score;
  int anchor;
  int cls;
  float box[4];
  float angle;
};

struct Config {
  RawLayout l;
  float conf;
  double iou;
  int max_det, max_nms, capacity, col_blocks, kpt_stride;
  float max_wh;
  bool agnostic;
  const unsigned* class_filter;  // bit per class; null: all classes
  const ImageGeometry* geometry;
  int* kept;                     // per image
  GpuDetection* dets;            // [image][max_det]
  float* keypoints;              // [image][max_det][keypoints * 3]
};

__device__ bool class_allowed(const Config& c, int cls) {
  if (!c.class_filter) return true;
  if (cls < 0 || cls >= c.l.classes) return false;
  return (c.class_filter[cls >> 5] >> (cls & 31)) & 1u;
}

__global__ void threshold_kernel(const float* __restrict__ raw, Config c, Cand* cands, int* counts) {
  const int a = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
  if (a >= c.l.anchors) return;
  const float* r = raw + static_cast<size_t>(b) * c.l.channels * c.l.anchors;
  auto at = [&](int ch) { return r[static_cast<size_t>(ch) * c.l.anchors + a]; };
  int best = 0;
  float score = at(4);
  for (int k = 1; k < c.l.classes; ++k) {  // first maximum wins, as torch.max
    const float s = at(4 + k);
    if (s > score) score = s, best = k;
  }
  if (!(score > c.conf) || !class_allowed(c, best)) return;
  Cand cand{score, a, best, {}, 0.f};
  const float cx = at(0), cy = at(1), w = at(2), h = at(3);
  if (c.l.task == Task::kObb) {
    cand.box[0] = cx, cand.box[1] = cy, cand.box[2] = w, cand.box[3] = h;
    cand.angle = at(4 + c.l.classes);
  } else {
    const float hw = w / 2, hh = h / 2;
    cand.box[0] = cx - hw, cand.box[1] = cy - hh, cand.box[2] = cx + hw, cand.box[3] = cy + hh;
  }
  const int slot = atomicAdd(&counts[b], 1);
  cands[static_cast<size_t>(b) * c.capacity + slot] = cand;
}

// Each candidate's rank by (score descending, anchor ascending): the CPU's stable sort of
// anchor-ordered candidates. Ranks past max_nms are dropped.
__global__ void rank_kernel(const Cand* cands, const int* counts, Config c, Cand* sorted) {
  const int b = blockIdx.y, n = counts[b];
  if (static_cast<int>(blockIdx.x * blockDim.x) >= n) return;
  const Cand* in = cands + static_cast<size_t>(b) * c.capacity;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const float s = i < n ? in[i].score : 0.f;
  const int a = i < n ? in[i].anchor : 0;
  __shared__ float ts[kSortBlock];
  __shared__ int ta[kSortBlock];
  int rank = 0;
  for (int tile = 0; tile < n; tile += kSortBlock) {
    const int j = tile + threadIdx.x;
    if (j < n) ts[threadIdx.x] = in[j].score, ta[threadIdx.x] = in[j].anchor;
    __syncthreads();
    const int m = min(kSortBlock, n - tile);
    if (i < n)
      for (int k = 0; k < m; ++k) rank += (ts[k] > s || (ts[k] == s && ta[k] < a)) ? 1 : 0;
    __syncthreads();
  }
  if (i < n && rank < c.max_nms) sorted[static_cast<size_t>(b) * c.capacity + rank] = in[i];
}

__device__ void offset_box(const Config& c, const Cand& k, float out[4]) {
  const float off = c.agnostic ? 0.f : static_cast<float>(k.cls) * c.max_wh;
  for (int q = 0; q < 4; ++q) out[q] = k.box[q] + off;
}

// Bit j of row i (j > i, sorted order): IoU(i, j) > iou. One block per 64 columns.
__global__ void iou_mask_kernel(const Cand* sorted, const int* counts, Config c, unsigned long long* mask) {
  const int b = blockIdx.y, n = min(counts[b], c.max_nms), cb = blockIdx.x;
  if (cb * 64 >= n) return;
  const Cand* s = sorted + static_cast<size_t>(b) * c.capacity;
  __shared__ float cols[64][4];
  const int t = threadIdx.x;
  if (cb * 64 + t < n) offset_box(c, s[cb * 64 + t], cols[t]);
  __syncthreads();
  const int ncols = min(64, n - cb * 64);
  for (int rb = 0; rb <= cb; ++rb) {
    const int i = rb * 64 + t;
    if (i >= n) break;
    float bi[4];
    offset_box(c, s[i], bi);
    unsigned long long bits = 0;
    for (int k = rb == cb ? t + 1 : 0; k < ncols; ++k)
      if (static_cast<double>(box_iou(bi, cols[k])) > c.iou) bits |= 1ull << k;
    mask[(static_cast<size_t>(b) * c.capacity + i) * c.col_blocks + cb] = bits;
  }
}

// Fast-NMS: sorted box j is dropped when any higher-scoring box has probiou >= iou.
__global__ void rotated_suppress_kernel(const Cand* sorted, const int* counts, Config c, unsigned char* suppressed) {
  const int b = blockIdx.y, n = min(counts[b], c.max_nms), j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= n) return;
  const Cand* s = sorted + static_cast<size_t>(b) * c.capacity;
  const float threshold = static_cast<float>(c.iou);
  auto rbox = [&](const Cand& k) {
    const float off = c.agnostic ? 0.f : static_cast<float>(k.cls) * c.max_wh;
    return RBox{k.box[0] + off, k.box[1] + off, k.box[2], k.box[3], k.angle};
  };
  const RBox q = rbox(s[j]);
  const Cov tq = covariance(q);
  bool sup = false;
  for (int i = 0; i < j && !sup; ++i) {
    const RBox p = rbox(s[i]);
    sup = probiou_with(p, covariance(p), q, tq) >= threshold;
  }
  suppressed[static_cast<size_t>(b) * c.capacity + j] = sup ? 1 : 0;
}

// Writes kept detection k (sorted candidate `cand`) of image b in original pixels.
__device__ void write_detection(const float* raw, const Config& c, int b, int k, const Cand& cand) {
  const ImageGeometry& g = c.geometry[b];
  GpuDetection& d = c.dets[static_cast<size_t>(b) * c.max_det + k];
  d.class_id = cand.cls;
  d.score = cand.score;
  if (c.l.task == Task::kObb) {
    d.box[0] = (cand.box[0] - g.pad_x) / g.gain, d.box[1] = (cand.box[1] - g.pad_y) / g.gain;
    d.box[2] = cand.box[2] / g.gain, d.box[3] = cand.box[3] / g.gain, d.box[4] = cand.angle;
    return;
  }
  for (int q = 0; q < 4; ++q) d.input_box[q] = cand.box[q];
  d.box[0] = std_clamp((cand.box[0] - g.pad_x) / g.gain, 0.f, static_cast<float>(g.orig_width));
  d.box[1] = std_clamp((cand.box[1] - g.pad_y) / g.gain, 0.f, static_cast<float>(g.orig_height));
  d.box[2] = std_clamp((cand.box[2] - g.pad_x) / g.gain, 0.f, static_cast<float>(g.orig_width));
  d.box[3] = std_clamp((cand.box[3] - g.pad_y) / g.gain, 0.f, static_cast<float>(g.orig_height));
  const size_t A = c.l.anchors;
  const float* r = raw + static_cast<size_t>(b) * c.l.channels * A;
  d.coef_offset = (4 + c.l.classes) * c.l.anchors + cand.anchor;
  if (c.l.task == Task::kPose) {
    float* kp = c.keypoints + (static_cast<size_t>(b) * c.max_det + k) * c.kpt_stride;
    for (int j = 0; j < c.l.keypoints; ++j) {
      const int base = 4 + c.l.classes + j * c.l.keypoint_dim;
      kp[3 * j] = std_clamp((r[base * A + cand.anchor] - g.kpt_pad_x) / g.gain, 0.f, static_cast<float>(g.orig_width));
      kp[3 * j + 1] = std_clamp((r[(base + 1) * A + cand.anchor] - g.kpt_pad_y) / g.gain, 0.f, static_cast<float>(g.orig_height));
      kp[3 * j + 2] = c.l.keypoint_dim >= 3 ? r[(base + 2) * A + cand.anchor] : 1.f;
    }
  }
}

// One warp per image: the greedy pass over the sorted candidates (bitmask or Fast-NMS
// flags), at most max_det kept, then their results.
__global__ void finalize_kernel(const float* raw, const Cand* sorted, const int* counts,
                                const unsigned long long* mask, const unsigned char* suppressed, Config c) {
  extern __shared__ unsigned long long shared[];
  unsigned long long* removed = shared;
  int* keep = reinterpret_cast<int*>(shared + c.col_blocks);
  const int b = blockIdx.x, lane = threadIdx.x, n = min(counts[b], c.max_nms);
  const bool rotated = c.l.task == Task::kObb;
  for (int w = lane; w < c.col_blocks; w += kWarp) removed[w] = 0;
  __syncwarp();
  int kept = 0;
  const size_t base = static_cast<size_t>(b) * c.capacity;
  for (int i = 0; i < n && kept < c.max_det; ++i) {
    const bool sup = rotated ? suppressed[base + i] != 0 : ((removed[i >> 6] >> (i & 63)) & 1ull) != 0;
    if (sup) continue;
    if (lane == 0) keep[kept] = i;
    if (!rotated) {
      const unsigned long long* row = mask + (base + i) * c.col_blocks;
      for (int w = (i >> 6) + lane; w < c.col_blocks; w += kWarp) removed[w] |= row[w];
    }
    ++kept;
    __syncwarp();
  }
  __syncwarp();
  for (int k = lane; k < kept; k += kWarp) write_detection(raw, c, b, k, sorted[base + keep[k]]);
  if (lane == 0) c.kept[b] = kept;
}

// NMS-free rows [x1 y1 x2 y2 score class extra...]: the first max_det rows with score >
// conf, then the class filter (Ultralytics' order), boxes and extras scaled.
__global__ void end2end_kernel(const float* raw, Config c) {
  extern __shared__ int rows[];
  const int b = blockIdx.x, lane = threadIdx.x, C = c.l.channels;
  const float* r = raw + static_cast<size_t>(b) * c.l.anchors * C;
  int taken = 0;
  for (int first = 0; first < c.l.anchors && taken < c.max_det; first += kWarp) {
    const int i = first + lane;
    const bool pass = i < c.l.anchors && r[static_cast<size_t>(i) * C + 4] > c.conf;
    const unsigned ballot = __ballot_sync(0xffffffffu, pass);
    const int pos = taken + __popc(ballot & ((1u << lane) - 1u));
    if (pass && pos < c.max_det) rows[pos] = i;
    taken = min(c.max_det, taken + __popc(ballot));
  }
  __syncwarp();
  int kept = 0;
  for (int first = 0; first < taken; first += kWarp) {
    const int t = first + lane;
    const bool pass = t < taken && class_allowed(c, static_cast<int>(r[static_cast<size_t>(rows[t]) * C + 5]));
    const unsigned ballot = __ballot_sync(0xffffffffu, pass);
    const int k = kept + __popc(ballot & ((1u << lane) - 1u));
    if (pass) {
      const float* row = r + static_cast<size_t>(rows[t]) * C;
      const ImageGeometry& g = c.geometry[b];
      GpuDetection& d = c.dets[static_cast<size_t>(b) * c.max_det + k];
      d.score = row[4];
      d.class_id = static_cast<int>(row[5]);
      if (c.l.task == Task::kObb) {  // x y w h score class angle
        d.box[0] = (row[0] - g.pad_x) / g.gain, d.box[1] = (row[1] - g.pad_y) / g.gain;
        d.box[2] = row[2] / g.gain, d.box[3] = row[3] / g.gain, d.box[4] = row[C - 1];
      } else {
        for (int q = 0; q < 4; ++q) d.input_box[q] = row[q];
        d.box[0] = std_clamp((row[0] - g.pad_x) / g.gain, 0.f, static_cast<float>(g.orig_width));
        d.box[1] = std_clamp((row[1] - g.pad_y) / g.gain, 0.f, static_cast<float>(g.orig_height));
        d.box[2] = std_clamp((row[2] - g.pad_x) / g.gain, 0.f, static_cast<float>(g.orig_width));
        d.box[3] = std_clamp((row[3] - g.pad_y) / g.gain, 0.f, static_cast<float>(g.orig_height));
        d.coef_offset = rows[t] * C + 6;
        if (c.l.task == Task::kPose) {
          float* kp = c.keypoints + (static_cast<size_t>(b) * c.max_det + k) * c.kpt_stride;
          for (int j = 0; j < c.l.keypoints; ++j) {
            const float* v = row + 6 + j * c.l.keypoint_dim;
            kp[3 * j] = std_clamp((v[0] - g.kpt_pad_x) / g.gain, 0.f, static_cast<float>(g.orig_width));
            kp[3 * j + 1] = std_clamp((v[1] - g.kpt_pad_y) / g.gain, 0.f, static_cast<float>(g.orig_height));
            kp[3 * j + 2] = c.l.keypoint_dim >= 3 ? v[2] : 1.f;
          }
        }
      }
    }
    kept += __popc(ballot);
  }
  if (lane == 0) c.kept[b] = kept;
}

// vision::top_k(5): best first, ties to the lower class id.
__global__ void top5_kernel(const float* scores, int classes, GpuClassScore* out) {
  const float* s = scores + static_cast<size_t>(blockIdx.x) * classes;
  __shared__ float bv[kSortBlock];
  __shared__ int bi[kSortBlock];
  __shared__ int chosen[5];
  const int t = threadIdx.x;
  const int k_max = min(5, classes);
  for (int k = 0; k < k_max; ++k) {
    float v = -INFINITY;
    int idx = -1;
    for (int i = t; i < classes; i += blockDim.x) {
      bool taken = false;
      for (int q = 0; q < k; ++q) taken |= chosen[q] == i;
      if (taken) continue;
      if (idx < 0 || s[i] > v) v = s[i], idx = i;
    }
    bv[t] = v, bi[t] = idx;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
      if (t < half) {
        const int oi = bi[t + half];
        const float ov = bv[t + half];
        if (oi >= 0 && (bi[t] < 0 || ov > bv[t] || (ov == bv[t] && oi < bi[t]))) bv[t] = ov, bi[t] = oi;
      }
      __syncthreads();
    }
    if (t == 0) {
      chosen[k] = bi[0];
      out[blockIdx.x * 5 + k] = {bi[0], bv[0]};
    }
    __syncthreads();
  }
}

int col_blocks(int capacity) { return (capacity + 63) / 64; }

}  // namespace

ImageGeometry image_geometry(int input_height, int input_width, int orig_height, int orig_width) {
  const vision::LetterboxGeometry lg = vision::letterbox_geometry(input_height, input_width, orig_height, orig_width);
  ImageGeometry g;
  g.input_width = input_width, g.input_height = input_height, g.orig_width = orig_width, g.orig_height = orig_height;
  g.gain = static_cast<float>(lg.gain);
  g.pad_x = lg.pad_x, g.pad_y = lg.pad_y;
  g.kpt_pad_x = static_cast<float>((input_width - std::nearbyint(orig_width * lg.gain)) / 2);
  g.kpt_pad_y = static_cast<float>((input_height - std::nearbyint(orig_height * lg.gain)) / 2);
  return g;
}

Result<std::unique_ptr<Decoder>> Decoder::create(const RawLayout& layout, int max_det) {
  if (max_det < 1) return error(StatusCode::kInvalidArgument, "max_det must be at least 1, got ", max_det);
  std::unique_ptr<Decoder> d(new Decoder());
  d->capacity_batch_ = layout.batch;
  d->capacity_anchors_ = layout.anchors;
  d->max_det_ = max_det;
  d->kpt_values_ = layout.keypoints * 3;
  const size_t B = layout.batch, A = layout.anchors;
  KILN_RETURN_IF_ERROR(d->candidates_.reserve(B * A * sizeof(Cand)));
  KILN_RETURN_IF_ERROR(d->sorted_.reserve(B * A * sizeof(Cand)));
  KILN_RETURN_IF_ERROR(d->counts_.reserve(B * sizeof(int)));
  if (layout.task == Task::kObb)
    KILN_RETURN_IF_ERROR(d->suppressed_.reserve(B * A));
  else if (!layout.end2end)
    KILN_RETURN_IF_ERROR(d->nms_mask_.reserve(B * A * col_blocks(layout.anchors) * sizeof(unsigned long long)));
  // Results: kept counts, geometry, detections, keypoints, top-5, each 16-byte aligned.
  auto align = [](size_t v) { return (v + 15) / 16 * 16; };
  const size_t counts = align(B * sizeof(int)), geometry = align(B * sizeof(ImageGeometry));
  const size_t dets = align(B * max_det * sizeof(GpuDetection));
  const size_t kpts = align(B * max_det * d->kpt_values_ * sizeof(float));
  d->keypoint_offset_ = counts + geometry + dets;
  d->top5_offset_ = d->keypoint_offset_ + kpts;
  KILN_RETURN_IF_ERROR(d->results_.reserve(d->top5_offset_ + B * 5 * sizeof(GpuClassScore)));
  return std::move(d);
}

Status Decoder::enqueue(const float* raw, const RawLayout& l, const vision::NmsOptions& o,
                        std::span<const ImageGeometry> geometry, cudaStream_t stream) {
  const int images = static_cast<int>(geometry.size());
  if (images > capacity_batch_ || images > l.batch || l.anchors > capacity_anchors_ || l.keypoints * 3 > kpt_values_)
    return error(StatusCode::kInternal, "decoder sized for ", capacity_batch_, " images of ", capacity_anchors_,
                 " anchors, asked for ", images, " of ", l.anchors);
  if (images == 0) return Status::Ok();
  Config c{};
  c.l = l;
  c.conf = o.conf;
  c.iou = o.iou;
  c.max_det = std::min(o.max_det, max_det_);
  c.max_nms = o.max_nms;
  c.capacity = capacity_anchors_;
  c.col_blocks = col_blocks(capacity_anchors_);
  c.kpt_stride = kpt_values_;
  c.max_wh = o.max_wh;
  c.agnostic = o.agnostic;
  if (!o.classes.empty()) {
    const size_t words = (static_cast<size_t>(std::max(l.classes, 1)) + 31) / 32;
    KILN_RETURN_IF_ERROR(class_filter_.reserve(words * sizeof(unsigned)));
    unsigned* bits = class_filter_.as<unsigned>();
    std::fill(bits, bits + words, 0u);
    for (int k : o.classes)
      if (k >= 0 && k < l.classes) bits[k >> 5] |= 1u << (k & 31);
    c.class_filter = bits;
  }
  char* res = results_.as<char>();
  c.kept = reinterpret_cast<int*>(res);
  auto* geo = reinterpret_cast<ImageGeometry*>(res + (capacity_batch_ * sizeof(int) + 15) / 16 * 16);
  std::copy(geometry.begin(), geometry.end(), geo);
  c.geometry = geo;
  c.dets = reinterpret_cast<GpuDetection*>(reinterpret_cast<char*>(geo) + (capacity_batch_ * sizeof(ImageGeometry) + 15) / 16 * 16);
  c.keypoints = reinterpret_cast<float*>(res + keypoint_offset_);

  if (l.end2end) {
    end2end_kernel<<<images, kWarp, c.max_det * sizeof(int), stream>>>(raw, c);
    return cuda_check(cudaGetLastError(), "end2end decode kernel");
  }
  int* counts = counts_.as<int>();
  Cand* cands = candidates_.as<Cand>();
  Cand* sorted = sorted_.as<Cand>();
  KILN_RETURN_IF_ERROR(cuda_check(cudaMemsetAsync(counts, 0, images * sizeof(int), stream), "decode counts"));
  const dim3 grid((l.anchors + kSortBlock - 1) / kSortBlock, images);
  threshold_kernel<<<grid, kSortBlock, 0, stream>>>(raw, c, cands, counts);
  rank_kernel<<<grid, kSortBlock, 0, stream>>>(cands, counts, c, sorted);
  if (l.task == Task::kObb) {
    rotated_suppress_kernel<<<dim3((l.anchors + 127) / 128, images), 128, 0, stream>>>(sorted, counts, c,
                                                                                     suppressed_.as<unsigned char>());
  } else {
    iou_mask_kernel<<<dim3(col_blocks(l.anchors), images), 64, 0, stream>>>(sorted, counts, c,
                                                                           nms_mask_.as<unsigned long long>());
  }
  const size_t smem = c.col_blocks * sizeof(unsigned long long) + c.max_det * sizeof(int);
  finalize_kernel<<<images, kWarp, smem, stream>>>(raw, sorted, counts, nms_mask_.as<unsigned long long>(),
                                                   suppressed_.as<unsigned char>(), c);
  return cuda_check(cudaGetLastError(), "decode kernels");
}

Status Decoder::enqueue_top5(const float* scores, int images, int classes, cudaStream_t stream) {
  if (images > capacity_batch_) return error(StatusCode::kInternal, "top-5 for ", images, " images, sized for ", capacity_batch_);
  top5_kernel<<<images, kSortBlock, 0, stream>>>(scores, classes,
                                                 reinterpret_cast<GpuClassScore*>(results_.as<char>() + top5_offset_));
  return cuda_check(cudaGetLastError(), "top-5 kernel");
}

int Decoder::count(int image) const { return results_.as<int>()[image]; }

const GpuDetection* Decoder::detections(int image) const {
  const char* res = results_.as<char>();
  const size_t counts = (capacity_batch_ * sizeof(int) + 15) / 16 * 16;
  const size_t geometry = (capacity_batch_ * sizeof(ImageGeometry) + 15) / 16 * 16;
  return reinterpret_cast<const GpuDetection*>(res + counts + geometry) + static_cast<size_t>(image) * max_det_;
}

const float* Decoder::keypoints(int image) const {
  return reinterpret_cast<const float*>(results_.as<char>() + keypoint_offset_) +
         static_cast<size_t>(image) * max_det_ * kpt_values_;
}

const GpuClassScore* Decoder::top5(int image) const {
  return reinterpret_cast<const GpuClassScore*>(results_.as<char>() + top5_offset_) + static_cast<size_t>(image) * 5;
}

}  // namespace kiln::vision_cuda
