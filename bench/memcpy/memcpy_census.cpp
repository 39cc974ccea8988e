// A CUDA injection library (CUDA_INJECTION64_PATH=libkiln_memcpy_census.so) that counts every
// memory copy the process makes on the GPU, through CUPTI's activity records, and writes one
// JSON line at exit: per direction (HtoD, DtoH, DtoD, ...) the copies, their bytes and the
// largest, and how many device-to-host copies were at least $KILN_MEMCPY_LARGE bytes (default
// 1 MiB, under a 720p NV12 frame's 1,382,400). It is how the GPU run checks that a video
// pipeline copies no frame to the host: Nsight Systems is not usable on the GPU machine.
// Output: $KILN_MEMCPY_REPORT (a file; default stderr).
#include <cupti.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

constexpr size_t kBuffer = 8 << 20;

struct Tally {
  uint64_t count = 0, bytes = 0, largest = 0;
};
std::mutex mutex;
std::array<Tally, 16> tallies;  // by CUpti_ActivityMemcpyKind
uint64_t large_dtoh = 0, dropped = 0;
uint64_t threshold = 1 << 20;

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

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBuffer));
  *size = *buffer ? kBuffer : 0;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  std::lock_guard<std::mutex> lock(mutex);
  CUpti_Activity* record = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
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
}

}  // namespace

// Called by the CUDA driver when it initializes, with CUDA_INJECTION64_PATH naming this file.
extern "C" __attribute__((visibility("default"))) int InitializeInjection() {
  if (const char* v = std::getenv("KILN_MEMCPY_LARGE"); v && *v) threshold = std::strtoull(v, nullptr, 10);
  if (cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed) != CUPTI_SUCCESS) return 0;
  if (cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY) != CUPTI_SUCCESS) return 0;
  std::atexit(report);
  return 1;
}
