// Turns CUDA runtime / cuBLAS / cuDNN return codes into kiln::Status naming what failed.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "kiln/status.h"

namespace kiln::cuda {

inline Status cuda_status(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return Status::Ok();
  return error(StatusCode::kInternal, what, ": CUDA error ", cudaGetErrorName(e), " (",
               cudaGetErrorString(e), ")");
}
inline Status cublas_status(cublasStatus_t e, const std::string& what) {
  if (e == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  return error(StatusCode::kInternal, what, ": cuBLAS error ", cublasGetStatusString(e));
}
inline Status cudnn_status(cudnnStatus_t e, const std::string& what) {
  if (e == CUDNN_STATUS_SUCCESS) return Status::Ok();
  return error(StatusCode::kInternal, what, ": cuDNN error ", cudnnGetErrorString(e));
}
// After a kernel launch: catches bad launch configurations at once.
inline Status launch_status(const std::string& what) { return cuda_status(cudaGetLastError(), what); }

}  // namespace kiln::cuda

#define KILN_CUDA_TRY(expr, what) KILN_RETURN_IF_ERROR(::kiln::cuda::cuda_status((expr), (what)))
