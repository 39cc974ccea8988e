#include "video/cuda_device.h"

extern "C" {
#include <libavutil/hwcontext.h>
}

#if KILN_VIDEO_CUDA
#include <cuda.h>
#include <cuda_runtime.h>
extern "C" {
#include <libavutil/hwcontext_cuda.h>
}
#endif

namespace kiln::video {

#if KILN_VIDEO_CUDA
namespace {

// The driver API through the runtime's entry-point query: kiln links no libcuda, so a
// machine without a driver still runs the CPU paths.
template <class Fn>
bool driver_function(const char* name, Fn& fn) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion(name, &p, CUDA_VERSION, cudaEnableDefault, &found) != cudaSuccess ||
      found != cudaDriverEntryPointSuccess || !p)
    return false;
  fn = reinterpret_cast<Fn>(p);
  return true;
}

struct Driver {
  CUresult (*init)(unsigned) = nullptr;
  CUresult (*device_get)(CUdevice*, int) = nullptr;
  CUresult (*retain)(CUcontext*, CUdevice) = nullptr;
  CUresult (*release)(CUdevice) = nullptr;
  bool ok = false;
};

const Driver& driver() {
  static const Driver d = [] {
    Driver d;
    d.ok = driver_function("cuInit", d.init) && driver_function("cuDeviceGet", d.device_get) &&
           driver_function("cuDevicePrimaryCtxRetain", d.retain) &&
           driver_function("cuDevicePrimaryCtxRelease", d.release);
    return d;
  }();
  return d;
}

// AVHWDeviceContext::free: the device context's last reference gives the retain back.
void release_primary_context(AVHWDeviceContext* ctx) {
  driver().release(static_cast<CUdevice>(reinterpret_cast<intptr_t>(ctx->user_opaque)));
}

}  // namespace

std::string create_cuda_device(int device, AVBufferRef** out) {
  const Driver& d = driver();
  if (!d.ok) return "no CUDA driver";
  CUdevice dev = 0;
  CUcontext ctx = nullptr;
  if (d.init(0) != CUDA_SUCCESS || d.device_get(&dev, device) != CUDA_SUCCESS) return "no such CUDA device";
  if (d.retain(&ctx, dev) != CUDA_SUCCESS) return "cannot use the device's primary CUDA context";
  AVBufferRef* ref = av_hwdevice_ctx_alloc(AV_HWDEVICE_TYPE_CUDA);
  if (!ref) {
    d.release(dev);
    return "out of memory";
  }
  auto* hw = reinterpret_cast<AVHWDeviceContext*>(ref->data);
  static_cast<AVCUDADeviceContext*>(hw->hwctx)->cuda_ctx = ctx;
  hw->user_opaque = reinterpret_cast<void*>(static_cast<intptr_t>(dev));
  hw->free = release_primary_context;
  if (const int rc = av_hwdevice_ctx_init(ref); rc < 0) {
    av_buffer_unref(&ref);  // calls release_primary_context
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(rc, buf, sizeof buf);
    return buf;
  }
  *out = ref;
  return "";
}

#else

std::string create_cuda_device(int, AVBufferRef**) { return "this kiln was built without CUDA"; }

#endif

}  // namespace kiln::video
