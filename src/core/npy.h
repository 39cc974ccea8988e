// NumPy's .npy and .npz files, the exchange format of raw tensors (kiln run, reference
// outputs): arrays are read as float32 whatever their numeric dtype (float16/32/64,
// int8..64, uint8..64, bool), and written as little-endian float32. An .npz is a zip of
// .npy members, stored (np.savez) or deflated (np.savez_compressed); kiln writes stored
// ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "kiln/status.h"

namespace kiln {

struct NpyArray {
  std::vector<int64_t> shape;  // () for a scalar
  std::vector<float> data;     // row-major, product(shape) values
};

// A whole .npy file's bytes; `name` names it in errors. Fortran-order arrays, structured
// and object dtypes are refused.
Result<NpyArray> parse_npy(const std::vector<uint8_t>& bytes, const std::string& name);
std::vector<uint8_t> serialize_npy(const NpyArray& array);

Result<NpyArray> read_npy(const std::filesystem::path& path);
Status write_npy(const std::filesystem::path& path, const NpyArray& array);

// Members in file order, named without their ".npy" suffix (as numpy.load names them).
Result<std::vector<std::pair<std::string, NpyArray>>> read_npz(const std::filesystem::path& path);
Status write_npz(const std::filesystem::path& path, const std::vector<std::pair<std::string, NpyArray>>& arrays);

}  // namespace kiln
