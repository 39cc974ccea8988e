// A CUDA injection library (CUDA_INJECTION64_PATH=libkiln_cupti_probe.so) built on CUPTI's
// activity records, for the GPU machine, where Nsight Systems is not usable. Two jobs:
//
// Copy census, always: every memory copy the process makes on the GPU, written at exit as one
// JSON line: per direction (HtoD, DtoH, DtoD, ...) the copies, their bytes and the largest, and
// how many device-to-host copies were at least $KILN_MEMCPY_LARGE bytes (default 1 MiB, under a
// 720p NV12 frame's 1,382,400). It is how the GPU run checks that a video pipeline copies no
// frame to the host. Output: $KILN_MEMCPY_REPORT (a file; default stderr).
//
// Timeline, with KILN_TRACE=<path>: kernels, copies, memsets, synchronizations and the runtime
// API calls that matter (launches, copies, syncs, allocations, and any call over 50 us), kept in
// memory and written at exit as a TSV sorted by start (bench/cupti/trace_summary.py reads it):
//   #columns  kind start_ns end_ns stream thread corr what graph
//   #name     <id> <kernel name, demangled, at most 160 chars>      (each kernel name once)
//   K|C|S|Y|R rows, times in ns from the earliest record, "-" where a field does not apply
//   #dropped  <records CUPTI lost>   #incomplete <records without a timestamp, skipped>
// K: what = name id; C: what = direction:bytes; S: what = bytes; Y: what = event, stream,
// context or stream-wait-event; R: what = API name, thread = OS thread id. Graph work carries
// g<graphId> in the 8th column. $KILN_TRACE_FROM_MS drops rows starting earlier than that many
// ms after the first record (model loading), times staying relative to the first record.
#include <cupti.h>
#include <cxxabi.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kBuffer = 8 << 20;
constexpr uint32_t kNone = UINT32_MAX;        // a field that does not apply: written as "-"
constexpr uint64_t kSlowApiNs = 50'000;       // a runtime call this long is kept whatever it is
constexpr size_t kNameCap = 160;

struct Tally {
  uint64_t count = 0, bytes = 0, largest = 0;
};
std::mutex mutex;
std::array<Tally, 16> tallies;  // by CUpti_ActivityMemcpyKind
uint64_t large_dtoh = 0, dropped = 0;
uint64_t threshold = 1 << 20;

// One timeline row, small because a long run holds millions of them until exit.
struct Row {
  uint64_t start, end;
  uint64_t what;  // K: name id, C/S: bytes, Y: sync type, R: cbid
  uint32_t stream, thread, corr, graph;
  char kind;
  uint8_t copy_kind;
};
const char* trace_path = nullptr;
uint64_t trace_from_ns = 0, incomplete = 0;
std::vector<Row> rows;
std::unordered_map<std::string, uint32_t> name_ids;  // by the name as CUPTI gives it
std::vector<std::string> names;                      // by id
struct Api {
  const char* name;
  bool wanted;
};
std::unordered_map<uint32_t, Api> apis;  // by runtime cbid

// Names as CUPTI reports them may carry _v7000 or _ptsz_v7000: match the name or name + "_".
constexpr const char* kWantedApis[] = {
    "cudaStreamSynchronize", "cudaEventSynchronize", "cudaDeviceSynchronize", "cudaGraphLaunch",
    "cudaMemcpyAsync",       "cudaMemcpy",           "cudaMemcpy2DAsync",     "cudaLaunchKernel",
    "cudaStreamWaitEvent",   "cudaEventRecord",      "cudaMemsetAsync",       "cudaMalloc",
    "cudaFree",              "cudaHostAlloc",        "cudaMallocHost"};

const char* kind_name(size_t kind) {
  switch (kind) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD: return "HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH: return "DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOA: return "HtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOH: return "AtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOA: return "AtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOD: return "AtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOA: return "DtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD: return "DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOH: return "HtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP: return "PtoP";
    default: return "unknown";
  }
}

const char* sync_name(uint64_t type) {
  switch (type) {
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE: return "event";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT: return "stream-wait-event";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE: return "stream";
    case CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE: return "context";
    default: return "unknown";
  }
}

uint32_t name_id(const char* mangled) {
  auto [it, fresh] = name_ids.try_emplace(mangled ? mangled : "?", static_cast<uint32_t>(names.size()));
  if (fresh) {
    int status = 0;
    char* plain = abi::__cxa_demangle(it->first.c_str(), nullptr, nullptr, &status);
    std::string text = status == 0 && plain ? plain : it->first;
    std::free(plain);
    names.push_back(text.substr(0, kNameCap));
  }
  return it->second;
}

const Api& api(uint32_t cbid) {
  auto [it, fresh] = apis.try_emplace(cbid, Api{"?", false});
  if (fresh) {
    const char* name = nullptr;
    if (cuptiGetCallbackName(CUPTI_CB_DOMAIN_RUNTIME_API, cbid, &name) == CUPTI_SUCCESS && name) it->second.name = name;
    for (const char* w : kWantedApis) {
      size_t n = std::strlen(w);
      if (std::strncmp(it->second.name, w, n) == 0 && (it->second.name[n] == '\0' || it->second.name[n] == '_'))
        it->second.wanted = true;
    }
  }
  return it->second;
}

void add_row(char kind, uint64_t start, uint64_t end, uint64_t what, uint32_t stream, uint32_t thread,
             uint32_t corr, uint32_t graph, uint8_t copy_kind = 0) {
  // A forced flush hands over work that has not finished: no timestamps to place it by.
  if (start == 0 || end < start) {
    ++incomplete;
    return;
  }
  rows.push_back(Row{start, end, what, stream, thread, corr, graph, kind, copy_kind});
}

void trace(const CUpti_Activity* record) {
  switch (record->kind) {
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
      add_row('K', k->start, k->end, name_id(k->name), k->streamId, kNone, k->correlationId, k->graphId);
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
      // The runtime call's id, where there is one, is the one its R row carries.
      const uint32_t corr = m->runtimeCorrelationId ? m->runtimeCorrelationId : m->correlationId;
      add_row('C', m->start, m->end, m->bytes, m->streamId, kNone, corr, m->graphId, m->copyKind);
      break;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemset4*>(record);
      add_row('S', m->start, m->end, m->bytes, m->streamId, kNone, m->correlationId, m->graphId);
      break;
    }
    case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: {
      const auto* s = reinterpret_cast<const CUpti_ActivitySynchronization2*>(record);
      add_row('Y', s->start, s->end, s->type, s->streamId, kNone, s->correlationId, 0);
      break;
    }
    case CUPTI_ACTIVITY_KIND_RUNTIME: {
      const auto* a = reinterpret_cast<const CUpti_ActivityAPI*>(record);
      if (api(a->cbid).wanted || a->end - a->start > kSlowApiNs)
        add_row('R', a->start, a->end, a->cbid, kNone, a->threadId, a->correlationId, 0);
      break;
    }
    default: break;
  }
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBuffer));
  *size = *buffer ? kBuffer : 0;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  std::lock_guard<std::mutex> lock(mutex);
  CUpti_Activity* record = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
    if (trace_path) trace(record);
    if (record->kind != CUPTI_ACTIVITY_KIND_MEMCPY) continue;
    const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
    Tally& t = tallies[m->copyKind < tallies.size() ? m->copyKind : 0];
    ++t.count;
    t.bytes += m->bytes;
    if (m->bytes > t.largest) t.largest = m->bytes;
    if (m->copyKind == CUPTI_ACTIVITY_MEMCPY_KIND_DTOH && m->bytes >= threshold) ++large_dtoh;
  }
  size_t lost = 0;
  if (cuptiActivityGetNumDroppedRecords(nullptr, 0, &lost) == CUPTI_SUCCESS) dropped += lost;
  std::free(buffer);
}

void write_field(std::FILE* out, uint32_t v) {
  if (v == kNone) std::fputs("\t-", out);
  else std::fprintf(out, "\t%u", v);
}

void write_trace() {
  std::FILE* out = std::fopen(trace_path, "w");
  if (!out) {
    std::fprintf(stderr, "kiln_cupti_probe: cannot write KILN_TRACE=%s: %s\n", trace_path, std::strerror(errno));
    return;
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.start < b.start; });
  const uint64_t origin = rows.empty() ? 0 : rows.front().start;
  auto first = std::lower_bound(rows.begin(), rows.end(), origin + trace_from_ns,
                                [](const Row& r, uint64_t t) { return r.start < t; });
  std::vector<bool> used(names.size());
  for (auto r = first; r != rows.end(); ++r)
    if (r->kind == 'K') used[r->what] = true;
  std::fputs("#columns\tkind\tstart_ns\tend_ns\tstream\tthread\tcorr\twhat\tgraph\n", out);
  for (size_t i = 0; i < names.size(); ++i)
    if (used[i]) std::fprintf(out, "#name\t%zu\t%s\n", i, names[i].c_str());
  for (auto r = first; r != rows.end(); ++r) {
    std::fprintf(out, "%c\t%llu\t%llu", r->kind, static_cast<unsigned long long>(r->start - origin),
                 static_cast<unsigned long long>(r->end - origin));
    write_field(out, r->stream == CUPTI_SYNCHRONIZATION_INVALID_VALUE ? kNone : r->stream);
    write_field(out, r->thread);
    write_field(out, r->corr);
    const auto what = static_cast<unsigned long long>(r->what);
    switch (r->kind) {
      case 'C': std::fprintf(out, "\t%s:%llu", kind_name(r->copy_kind), what); break;
      case 'Y': std::fprintf(out, "\t%s", sync_name(r->what)); break;
      case 'R': std::fprintf(out, "\t%s", api(static_cast<uint32_t>(r->what)).name); break;
      default: std::fprintf(out, "\t%llu", what);
    }
    if (r->graph) std::fprintf(out, "\tg%u\n", r->graph);
    else std::fputs("\t\n", out);
  }
  std::fprintf(out, "#dropped\t%llu\n#incomplete\t%llu\n", static_cast<unsigned long long>(dropped),
               static_cast<unsigned long long>(incomplete));
  std::fclose(out);
}

void report() {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::lock_guard<std::mutex> lock(mutex);
  const char* path = std::getenv("KILN_MEMCPY_REPORT");
  std::FILE* out = path && *path ? std::fopen(path, "w") : stderr;
  if (!out) out = stderr;
  std::fprintf(out, "{\"memcpy\": {");
  bool first = true;
  for (size_t k = 0; k < tallies.size(); ++k) {
    const Tally& t = tallies[k];
    if (!t.count) continue;
    std::fprintf(out, "%s\"%s\": {\"count\": %llu, \"bytes\": %llu, \"largest\": %llu}", first ? "" : ", ", kind_name(k),
                 static_cast<unsigned long long>(t.count), static_cast<unsigned long long>(t.bytes),
                 static_cast<unsigned long long>(t.largest));
    first = false;
  }
  std::fprintf(out, "}, \"dtoh_at_least\": %llu, \"dtoh_large\": %llu, \"dropped_records\": %llu}\n",
               static_cast<unsigned long long>(threshold), static_cast<unsigned long long>(large_dtoh),
               static_cast<unsigned long long>(dropped));
  if (out != stderr) std::fclose(out);
  if (trace_path) write_trace();
}

}  // namespace

// Called by the CUDA driver when it initializes, with CUDA_INJECTION64_PATH naming this file.
extern "C" __attribute__((visibility("default"))) int InitializeInjection() {
  if (const char* v = std::getenv("KILN_MEMCPY_LARGE"); v && *v) threshold = std::strtoull(v, nullptr, 10);
  if (const char* v = std::getenv("KILN_TRACE"); v && *v) trace_path = v;
  if (const char* v = std::getenv("KILN_TRACE_FROM_MS"); v && *v)
    trace_from_ns = static_cast<uint64_t>(std::strtod(v, nullptr) * 1e6);
  if (cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed) != CUPTI_SUCCESS) return 0;
  if (cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY) != CUPTI_SUCCESS) return 0;
  if (trace_path) {
    // CONCURRENT_KERNEL, not KERNEL: the latter serializes kernels and would change the timeline.
    for (CUpti_ActivityKind kind : {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMSET,
                                    CUPTI_ACTIVITY_KIND_SYNCHRONIZATION, CUPTI_ACTIVITY_KIND_RUNTIME})
      if (cuptiActivityEnable(kind) != CUPTI_SUCCESS) {
        std::fprintf(stderr, "kiln_cupti_probe: CUPTI refused activity kind %d; no trace\n", static_cast<int>(kind));
        trace_path = nullptr;
        break;
      }
    // A loop polling cudaEventQuery would otherwise add a Y row per poll that found work pending.
    cuptiActivityEnableAllSyncRecords(0);
  }
  std::atexit(report);
  return 1;
}
