// Little-endian byte writing and bounds-checked reading for the engine file. The reader
// never reads past its span: any short read sets a sticky failure that callers turn into
// one Corrupt error, so a truncated or random file cannot crash kiln.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace kiln::engine {

static_assert(std::endian::native == std::endian::little, "engine files are little-endian");

class ByteWriter {
 public:
  template <typename T> void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_bytes(std::span<const uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  void put_string(const std::string& s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  template <typename T> T get() {
    T v{};
    if (!require(sizeof(T))) return v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::span<const uint8_t> get_bytes(uint64_t n) {
    if (!require(n)) return {};
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::string get_string() {
    auto s = get_bytes(get<uint32_t>());
    return std::string(s.begin(), s.end());
  }
  // An element count, rejected when even `min_item_bytes` per element cannot fit in
  // what is left (so a garbage count cannot trigger a huge allocation or a long loop).
  uint32_t get_count(size_t min_item_bytes) {
    uint32_t n = get<uint32_t>();
    if (ok_ && static_cast<uint64_t>(n) * min_item_bytes > remaining()) fail("count " + std::to_string(n) + " exceeds the data");
    return ok_ ? n : 0;
  }

  void fail(const std::string& why) {
    if (ok_) why_ = why + " at byte " + std::to_string(pos_);
    ok_ = false;
  }
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  uint64_t remaining() const { return ok_ ? bytes_.size() - pos_ : 0; }
  uint64_t position() const { return pos_; }

 private:
  bool require(uint64_t n) {
    if (!ok_) return false;
    if (n > bytes_.size() - pos_) {
      fail("unexpected end of data (need " + std::to_string(n) + " bytes)");
      return false;
    }
    return true;
  }

  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
  bool ok_ = true;
  std::string why_;
};

}  // namespace kiln::engine
