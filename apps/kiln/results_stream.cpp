#include "results_stream.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/json_text.h"

namespace kiln::cli {

namespace {

// The keys of an object as `"key": value` members, comma-separated, one per line.
std::string members(const nlohmann::json& object, const std::string& skip = "") {
  std::string out;
  for (const auto& [key, value] : object.items()) {
    if (key == skip) continue;
    if (!out.empty()) out.append(",\n ");
    out.append(json_text(key)).append(": ").append(json_text(value));
  }
  return out;
}

}  // namespace

Result<std::optional<AtomicFile>> open_output_file(const std::string& path) {
  if (path.empty()) return std::optional<AtomicFile>();
  KILN_RETURN_IF_ERROR(check_output_path(path));
  KILN_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path));
  return std::optional<AtomicFile>(std::move(file));
}

Status check_output_flags(std::initializer_list<const std::string*> paths) {
  for (const std::string* path : paths)
    if (!path->empty() && *path != "-") KILN_RETURN_IF_ERROR(check_output_path(*path));
  return Status::Ok();
}

Result<JsonSpool> JsonSpool::create() {
  KILN_ASSIGN_OR_RETURN(Spool spool, Spool::create());
  return JsonSpool(std::move(spool));
}

Status JsonSpool::push(const nlohmann::json& element) {
  KILN_RETURN_IF_ERROR(spool_.append(spool_.empty() ? "\n" : ",\n"));
  return spool_.append(json_text(element));
}

Result<ResultsStream> ResultsStream::open(const std::string& json_out, const nlohmann::json& header) {
  KILN_ASSIGN_OR_RETURN(std::optional<AtomicFile> file, open_output_file(json_out == "-" ? "" : json_out));
  ResultsStream stream(std::move(file), json_out == "-");
  std::string head = "{";
  head += members(header);
  head.append(head.size() > 1 ? ",\n \"results\": [" : "\"results\": [");
  KILN_RETURN_IF_ERROR(stream.write(head));
  return stream;
}

Status ResultsStream::write(std::string_view text) {
  if (file_) return file_->append(text);
  if (stdout_ && std::fwrite(text.data(), 1, text.size(), stdout) != text.size())
    return error(StatusCode::kIoError, "stdout: write failed: ", std::strerror(errno));
  return Status::Ok();
}

Status ResultsStream::begin_entry() { return write(entries_++ ? ",\n" : "\n"); }

Status ResultsStream::add(const nlohmann::json& entry) {
  KILN_RETURN_IF_ERROR(begin_entry());
  return write(json_text(entry));
}

Status ResultsStream::add(const nlohmann::json& entry, const std::string& key, JsonSpool& spool) {
  KILN_RETURN_IF_ERROR(begin_entry());
  std::string head = "{";
  head += members(entry, key);
  head.append(head.size() > 1 ? ", " : "").append(json_text(key)).append(": [");
  KILN_RETURN_IF_ERROR(write(head));
  KILN_RETURN_IF_ERROR(spool.spool_.copy_to([&](std::string_view text) { return write(text); }));
  return write("]}");
}

Status ResultsStream::finish(const nlohmann::json& trailer) {
  const std::string tail = members(trailer);
  std::string end = "\n]";
  if (!tail.empty()) end.append(",\n ").append(tail);
  KILN_RETURN_IF_ERROR(write(end.append("}\n")));
  if (file_) return file_->commit();
  if (stdout_ && std::fflush(stdout) != 0) return error(StatusCode::kIoError, "stdout: write failed: ", std::strerror(errno));
  return Status::Ok();
}

}  // namespace kiln::cli
