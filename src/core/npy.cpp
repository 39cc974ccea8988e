#include "core/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <regex>

#include "core/file_util.h"
#include "core/half.h"

namespace kiln {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

template <typename T> T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // x86 and arm64 hosts are little-endian, as .npy and zip are
  return v;
}
template <typename T> void store_le(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}

// Converts `count` values of dtype `descr` ("<f4", "|u1", ...) at `p` to float.
Result<std::vector<float>> to_floats(const std::string& descr, const uint8_t* p, size_t count, const std::string& name) {
  std::vector<float> out(count);
  const char order = descr[0], kind = descr[1];
  const int size = std::atoi(descr.c_str() + 2);
  if (order == '>' && size > 1) return error(StatusCode::kUnsupported, name, ": big-endian dtype ", descr);
  auto each = [&](auto load) {
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(load(p + i * static_cast<size_t>(size)));
  };
  if (kind == 'f' && size == 4) each(load_le<float>);
  else if (kind == 'f' && size == 8) each(load_le<double>);
  else if (kind == 'f' && size == 2) each([](const uint8_t* q) { return half_to_float(load_le<uint16_t>(q)); });
  else if (kind == 'i' && size == 1) each(load_le<int8_t>);
  else if (kind == 'i' && size == 2) each(load_le<int16_t>);
  else if (kind == 'i' && size == 4) each(load_le<int32_t>);
  else if (kind == 'i' && size == 8) each(load_le<int64_t>);
  else if ((kind == 'u' || kind == 'b') && size == 1) each(load_le<uint8_t>);
  else if (kind == 'u' && size == 2) each(load_le<uint16_t>);
  else if (kind == 'u' && size == 4) each(load_le<uint32_t>);
  else if (kind == 'u' && size == 8) each(load_le<uint64_t>);
  else return error(StatusCode::kUnsupported, name, ": dtype ", descr, " is not a number type kiln reads");
  return out;
}

}  // namespace

Result<NpyArray> parse_npy(const std::vector<uint8_t>& b, const std::string& name) {
  if (b.size() < 10 || std::memcmp(b.data(), kMagic, kMagicSize) != 0)
    return error(StatusCode::kCorrupt, name, ": not a .npy file (no \\x93NUMPY magic)");
  const int major = b[6];
  const size_t len_size = major == 1 ? 2 : 4;
  if (major < 1 || major > 3) return error(StatusCode::kUnsupported, name, ": .npy format version ", major);
  if (b.size() < 8 + len_size) return error(StatusCode::kCorrupt, name, ": truncated header");
  const size_t header_len = major == 1 ? load_le<uint16_t>(b.data() + 8) : load_le<uint32_t>(b.data() + 8);
  const size_t data_start = 8 + len_size + header_len;
  if (data_start > b.size()) return error(StatusCode::kCorrupt, name, ": truncated header");
  const std::string header(b.begin() + static_cast<std::ptrdiff_t>(8 + len_size), b.begin() + static_cast<std::ptrdiff_t>(data_start));

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=])([a-zA-Z])(\d+)')")))
    return error(StatusCode::kUnsupported, name, ": header has no simple 'descr' (structured dtypes are not read)");
  std::string descr = m[1].str() + m[2].str() + m[3].str();
  if (descr[0] == '=') descr[0] = '<';
  if (std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*True)")))
    return error(StatusCode::kUnsupported, name, ": Fortran-order array (save it with np.ascontiguousarray)");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    return error(StatusCode::kCorrupt, name, ": header has no 'shape'");
  NpyArray a;
  const std::string dims = m[1].str();
  size_t count = 1;
  const std::regex number(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    const long long d = std::stoll(it->str());
    if (d > 0 && count > std::numeric_limits<size_t>::max() / static_cast<size_t>(d))
      return error(StatusCode::kCorrupt, name, ": shape (", dims, ") is too large");
    a.shape.push_back(d);
    count *= static_cast<size_t>(d);
  }
  const size_t item = static_cast<size_t>(std::atoi(descr.c_str() + 2));
  if (item == 0 || count > (b.size() - data_start) / item)
    return error(StatusCode::kCorrupt, name, ": ", b.size() - data_start, " data bytes, shape (", dims, ") of ", descr,
                 " needs ", count * item);
  KILN_ASSIGN_OR_RETURN(a.data, to_floats(descr, b.data() + data_start, count, name));
  return a;
}

std::vector<uint8_t> serialize_npy(const NpyArray& a) {
  std::string shape;
  for (int64_t d : a.shape) shape += std::to_string(d) + ", ";
  if (a.shape.size() > 1) shape.resize(shape.size() - 1);  // "(1, 3)" but "(5,)"
  else if (a.shape.size() == 1) shape.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Magic, version 1.0, 2-byte length, header padded with spaces to a multiple of 64 bytes.
  const size_t total = (kMagicSize + 4 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - kMagicSize - 4 - header.size() - 1, ' ');
  header += '\n';
  std::vector<uint8_t> out(kMagic, kMagic + kMagicSize);
  out.push_back(1);
  out.push_back(0);
  store_le<uint16_t>(out, static_cast<uint16_t>(header.size()));
  out.insert(out.end(), header.begin(), header.end());
  const auto* data = reinterpret_cast<const uint8_t*>(a.data.data());
  out.insert(out.end(), data, data + a.data.size() * sizeof(float));
  return out;
}

Result<NpyArray> read_npy(const std::filesystem::path& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  return parse_npy(bytes, path.string());
}

Status write_npy(const std::filesystem::path& path, const NpyArray& array) {
  const std::vector<uint8_t> bytes = serialize_npy(array);
  return write_file_atomic(path, bytes.data(), bytes.size());
}

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfCentral = 0x06054b50;

// One member's bytes: stored, or raw deflate (zip method 8) inflated with zlib.
Result<std::vector<uint8_t>> member_bytes(const uint8_t* p, size_t compressed, size_t size, int method,
                                          const std::string& name) {
  if (method == 0) return std::vector<uint8_t>(p, p + compressed);
  if (method != 8) return error(StatusCode::kUnsupported, name, ": zip compression method ", method);
  std::vector<uint8_t> out(size);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return error(StatusCode::kInternal, name, ": zlib init failed");
  z.next_in = const_cast<uint8_t*>(p);
  z.avail_in = static_cast<uInt>(compressed);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(size);
  const int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.total_out != size) return error(StatusCode::kCorrupt, name, ": bad deflate data");
  return out;
}

}  // namespace

Result<std::vector<std::pair<std::string, NpyArray>>> read_npz(const std::filesystem::path& path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> b, read_file(path));
  const std::string file = path.string();
  // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB.
  size_t eocd = std::string::npos;
  if (b.size() >= 22) {
    const size_t lowest = b.size() > 22 + 65535 ? b.size() - 22 - 65535 : 0;
    for (size_t i = b.size() - 22 + 1; i-- > lowest;)
      if (load_le<uint32_t>(b.data() + i) == kEndOfCentral) {
        eocd = i;
        break;
      }
  }
  if (eocd == std::string::npos) return error(StatusCode::kCorrupt, file, ": not an .npz (zip) file");
  const size_t entries = load_le<uint16_t>(b.data() + eocd + 10);
  size_t at = load_le<uint32_t>(b.data() + eocd + 16);
  std::vector<std::pair<std::string, NpyArray>> out;
  for (size_t e = 0; e < entries; ++e) {
    if (at + 46 > b.size() || load_le<uint32_t>(b.data() + at) != kCentralHeader)
      return error(StatusCode::kCorrupt, file, ": bad zip central directory");
    const int method = load_le<uint16_t>(b.data() + at + 10);
    const size_t compressed = load_le<uint32_t>(b.data() + at + 20), size = load_le<uint32_t>(b.data() + at + 24);
    const size_t name_len = load_le<uint16_t>(b.data() + at + 28), extra_len = load_le<uint16_t>(b.data() + at + 30),
                 comment_len = load_le<uint16_t>(b.data() + at + 32);
    const size_t local = load_le<uint32_t>(b.data() + at + 42);
    if (at + 46 + name_len > b.size()) return error(StatusCode::kCorrupt, file, ": bad zip central directory");
    std::string name(b.begin() + static_cast<std::ptrdiff_t>(at + 46), b.begin() + static_cast<std::ptrdiff_t>(at + 46 + name_len));
    at += 46 + name_len + extra_len + comment_len;
    if (compressed == 0xffffffffu || size == 0xffffffffu)
      return error(StatusCode::kUnsupported, file, ": ", name, " is over 4 GiB (zip64)");
    if (local + 30 > b.size() || load_le<uint32_t>(b.data() + local) != kLocalHeader)
      return error(StatusCode::kCorrupt, file, ": bad zip local header for ", name);
    const size_t data = local + 30 + load_le<uint16_t>(b.data() + local + 26) + load_le<uint16_t>(b.data() + local + 28);
    if (data + compressed > b.size()) return error(StatusCode::kCorrupt, file, ": ", name, " is truncated");
    const std::string where = file + ":" + name;
    KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, member_bytes(b.data() + data, compressed, size, method, where));
    KILN_ASSIGN_OR_RETURN(NpyArray array, parse_npy(bytes, where));
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(std::move(name), std::move(array));
  }
  return out;
}

Status write_npz(const std::filesystem::path& path, const std::vector<std::pair<std::string, NpyArray>>& arrays) {
  std::vector<uint8_t> out, central;
  for (const auto& [name, array] : arrays) {
    const std::vector<uint8_t> data = serialize_npy(array);
    const std::string member = name + ".npy";
    if (data.size() >= 0xffffffffu || out.size() >= 0xffffffffu)
      return error(StatusCode::kUnsupported, path.string(), ": ", member, " would pass 4 GiB (zip64 is not written)");
    const uint32_t crc = static_cast<uint32_t>(crc32(0L, data.data(), static_cast<uInt>(data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    // Local header: version 20, no flags, stored, no time, crc, sizes, name.
    for (std::vector<uint8_t>* h : {&out, &central}) {
      const bool c = h == &central;
      store_le<uint32_t>(*h, c ? kCentralHeader : kLocalHeader);
      if (c) store_le<uint16_t>(*h, 20);  // version made by
      store_le<uint16_t>(*h, 20);         // version needed
      store_le<uint16_t>(*h, 0);          // flags
      store_le<uint16_t>(*h, 0);          // stored
      store_le<uint16_t>(*h, 0);          // time
      store_le<uint16_t>(*h, 0x21);       // date: 1980-01-01
      store_le<uint32_t>(*h, crc);
      store_le<uint32_t>(*h, static_cast<uint32_t>(data.size()));
      store_le<uint32_t>(*h, static_cast<uint32_t>(data.size()));
      store_le<uint16_t>(*h, static_cast<uint16_t>(member.size()));
      store_le<uint16_t>(*h, 0);  // extra
      if (c) {
        store_le<uint16_t>(*h, 0);  // comment
        store_le<uint16_t>(*h, 0);  // disk
        store_le<uint16_t>(*h, 0);  // internal attributes
        store_le<uint32_t>(*h, 0);  // external attributes
        store_le<uint32_t>(*h, offset);
      }
      h->insert(h->end(), member.begin(), member.end());
    }
    out.insert(out.end(), data.begin(), data.end());
  }
  const uint32_t central_at = static_cast<uint32_t>(out.size());
  out.insert(out.end(), central.begin(), central.end());
  store_le<uint32_t>(out, kEndOfCentral);
  store_le<uint16_t>(out, 0);
  store_le<uint16_t>(out, 0);
  store_le<uint16_t>(out, static_cast<uint16_t>(arrays.size()));
  store_le<uint16_t>(out, static_cast<uint16_t>(arrays.size()));
  store_le<uint32_t>(out, static_cast<uint32_t>(central.size()));
  store_le<uint32_t>(out, central_at);
  store_le<uint16_t>(out, 0);
  return write_file_atomic(path, out.data(), out.size());
}

}  // namespace kiln
