#include "ir/model_metadata.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

namespace kiln::ir {

namespace {

// Reads the small subset of Python literal syntax Ultralytics writes into metadata_props:
// integers, floats, quoted strings (either quote, with backslash escapes), lists and
// {int: str} dicts.
class LiteralReader {
 public:
  explicit LiteralReader(std::string_view text) : s_(text) {}

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool at_end() {
    skip_space();
    return pos_ == s_.size();
  }

  // An integer, or a float with no fractional part ("32.0").
  std::optional<int64_t> read_int() {
    skip_space();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-' ||
                                s_[pos_] == '+' || s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      ++pos_;
    std::string_view tok = s_.substr(start, pos_ - start);
    if (tok.empty()) return std::nullopt;
    if (tok.front() == '+') tok.remove_prefix(1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec == std::errc() && end == tok.data() + tok.size()) return v;
    double d = 0;
    auto [dend, dec] = std::from_chars(tok.data(), tok.data() + tok.size(), d);
    if (dec != std::errc() || dend != tok.data() + tok.size() || d != std::floor(d) || std::fabs(d) > 9e15)
      return std::nullopt;
    return static_cast<int64_t>(d);
  }

  // A '...' or "..." string literal with Python's escapes (\\ \' \" \n \t \r \xhh \uhhhh
  // \Uhhhhhhhh); other backslashes stay as written, as in Python.
  std::optional<std::string> read_string() {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return std::nullopt;
    const char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == quote) return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      char e = s_[pos_++];
      switch (e) {
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'x': if (!read_hex_escape(2, out)) return std::nullopt; break;
        case 'u': if (!read_hex_escape(4, out)) return std::nullopt; break;
        case 'U': if (!read_hex_escape(8, out)) return std::nullopt; break;
        default: out += '\\'; out += e; break;
      }
    }
    return std::nullopt;  // unterminated
  }

 private:
  bool read_hex_escape(size_t digits, std::string& out) {
    if (pos_ + digits > s_.size()) return false;
    uint32_t cp = 0;
    auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + pos_ + digits, cp, 16);
    if (ec != std::errc() || end != s_.data() + pos_ + digits || cp > 0x10FFFF) return false;
    pos_ += digits;
    append_utf8(cp, out);
    return true;
  }
  static void append_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Status malformed(const std::string& key, const std::string& value, const std::string& why) {
  constexpr size_t kShown = 60;
  std::string shown = value.size() > kShown ? value.substr(0, kShown) + "..." : value;
  return error(StatusCode::kInvalidArgument, "model metadata '", key, "' is malformed (", why, "): '", shown, "'");
}

Result<int64_t> parse_int(const std::string& key, const std::string& value) {
  LiteralReader r(value);
  std::optional<int64_t> v = r.read_int();
  if (!v || !r.at_end()) return malformed(key, value, "expected an integer");
  return *v;
}

// "[17, 3]" (or "[17, 3,]") -> {17, 3}.
Result<std::vector<int64_t>> parse_int_list(const std::string& key, const std::string& value) {
  LiteralReader r(value);
  std::vector<int64_t> out;
  if (!r.consume('[')) return malformed(key, value, "expected a list of integers");
  while (!r.consume(']')) {
    std::optional<int64_t> v = r.read_int();
    if (!v) return malformed(key, value, "expected a list of integers");
    out.push_back(*v);
    if (!r.consume(',') && !r.peek(']')) return malformed(key, value, "expected ',' or ']'");
  }
  if (!r.at_end()) return malformed(key, value, "text after the list");
  return out;
}

// "{0: 'person', 1: 'bicycle'}" (what Ultralytics writes) or "['person', 'bicycle']".
Result<std::vector<std::string>> parse_names(const std::string& key, const std::string& value) {
  LiteralReader r(value);
  std::map<int64_t, std::string> by_id;
  std::vector<std::string> listed;
  const bool is_dict = r.peek('{');
  if (!r.consume(is_dict ? '{' : '[')) return malformed(key, value, "expected a dict or a list");
  const char close = is_dict ? '}' : ']';
  while (!r.consume(close)) {
    if (is_dict) {
      std::optional<int64_t> id = r.read_int();
      if (!id || !r.consume(':')) return malformed(key, value, "expected '<id>: <name>'");
      std::optional<std::string> name = r.read_string();
      if (!name) return malformed(key, value, "expected a quoted name for class " + std::to_string(*id));
      if (!by_id.emplace(*id, std::move(*name)).second)
        return malformed(key, value, "class " + std::to_string(*id) + " is named twice");
    } else {
      std::optional<std::string> name = r.read_string();
      if (!name) return malformed(key, value, "expected a quoted name");
      listed.push_back(std::move(*name));
    }
    if (!r.consume(',') && !r.peek(close)) return malformed(key, value, std::string("expected ',' or '") + close + "'");
  }
  if (!r.at_end()) return malformed(key, value, "text after the closing bracket");
  if (!is_dict) return listed;
  std::vector<std::string> names;
  for (auto& [id, name] : by_id) {
    if (id != static_cast<int64_t>(names.size()))
      return malformed(key, value, "class ids are not 0..n-1 (missing " + std::to_string(names.size()) + ")");
    names.push_back(std::move(name));
  }
  return names;
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF (what JSON
// writers such as nlohmann::json insist on).
bool is_valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : (c >> 4) == 0xE ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    const auto c1 = static_cast<unsigned char>(s[i + (len > 1)]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))
      return false;
    i += len;
  }
  return true;
}

}  // namespace

Result<ModelMetadata> parse_model_metadata(const std::map<std::string, std::string>& props) {
  ModelMetadata m;
  auto get = [&](const char* key) -> const std::string* {
    auto it = props.find(key);
    return it == props.end() ? nullptr : &it->second;
  };
  // Names and the task end up in JSON (engine metadata, results), which must be UTF-8.
  for (const char* key : {"task", "version", "names"})
    if (const std::string* v = get(key); v && !is_valid_utf8(*v)) return malformed(key, "", "not valid UTF-8");
  if (const std::string* v = get("task")) m.task = *v;
  if (const std::string* v = get("version")) m.version = *v;
  if (const std::string* v = get("names")) {
    KILN_ASSIGN_OR_RETURN(m.names, parse_names("names", *v));
    for (const std::string& name : m.names)  // escapes such as \ud800 decode to invalid UTF-8 too
      if (!is_valid_utf8(name)) return malformed("names", *v, "not valid UTF-8");
  }
  if (const std::string* v = get("stride")) {
    KILN_ASSIGN_OR_RETURN(m.stride, parse_int("stride", *v));
    if (m.stride <= 0 || m.stride > kMaxImgsz) return malformed("stride", *v, "must be in 1..8192");
  }
  if (const std::string* v = get("batch")) {
    KILN_ASSIGN_OR_RETURN(m.batch, parse_int("batch", *v));
    if (m.batch <= 0 || m.batch > kMaxMetadataBatch) return malformed("batch", *v, "must be in 1..1024");
  }
  if (const std::string* v = get("imgsz")) {
    // "[640, 640]" (h, w) or a single size for both.
    std::vector<int64_t> size;
    if (LiteralReader(*v).peek('[')) {
      KILN_ASSIGN_OR_RETURN(size, parse_int_list("imgsz", *v));
    } else {
      KILN_ASSIGN_OR_RETURN(int64_t s, parse_int("imgsz", *v));
      size = {s};
    }
    if (size.empty() || size.size() > 2 || size.front() <= 0 || size.back() <= 0 || size.front() > kMaxImgsz ||
        size.back() > kMaxImgsz)
      return malformed("imgsz", *v, "expected one or two sizes in 1..8192");
    m.imgsz_h = size.front();
    m.imgsz_w = size.back();
  }
  if (const std::string* v = get("kpt_shape")) {
    KILN_ASSIGN_OR_RETURN(m.kpt_shape, parse_int_list("kpt_shape", *v));
    if (m.kpt_shape.size() != 2 || m.kpt_shape[0] <= 0 || m.kpt_shape[0] > 4096 ||
        (m.kpt_shape[1] != 2 && m.kpt_shape[1] != 3))
      return malformed("kpt_shape", *v, "expected [keypoints, 2 or 3]");
  }
  if (const std::string* v = get("end2end")) {
    if (*v == "True" || *v == "true") m.end2end = true;
    else if (*v == "False" || *v == "false") m.end2end = false;
    else return malformed("end2end", *v, "expected True or False");
  }
  return m;
}

}  // namespace kiln::ir
