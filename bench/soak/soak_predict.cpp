// kiln_soak MODEL IMAGE COUNT [--device D] [--precision P] [--imgsz N] [--batch B] [--report S]:
// COUNT predictions of one decoded IMAGE through one kiln::Model in one process, the whole
// predict path each time (letterbox, inference, decode, NMS), B images per call (a dynamic
// export), so that bench/soak/soak.py can sample the process's host and device memory from
// outside while it runs. Prints "N predictions, R/s" after the first call and then every S
// seconds (default 30), flushed, so a watcher sees how far it got; SIGTERM or SIGINT stops it
// after the current call with the final line of a finished run. Exit 2 on an error.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kiln/model.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) { stop_requested = 1; }

int fail(const std::string& message) {
  std::fprintf(stderr, "kiln_soak: error: %s\n", message.c_str());
  return 2;
}

bool parse_int(const char* text, long long& out) {
  const char* end = text + std::strlen(text);
  auto [p, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && p == end && out >= 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: kiln_soak MODEL IMAGE COUNT [--device D] [--precision P] [--imgsz N] [--batch B] [--report S]";
  if (argc < 4 || argc % 2 != 0) return fail(usage);
  long long count = 0;
  if (!parse_int(argv[3], count)) return fail(std::string("COUNT '") + argv[3] + "' is not a positive integer");
  kiln::ModelOptions options;
  long long batch = 1, report_seconds = 30;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--device") {
      auto device = kiln::parse_device(value);
      if (!device.ok()) return fail(device.status().message());
      options.device = *device;
      options.strict_gpu = true;  // a soak on the CPU by accident would measure the wrong thing
    } else if (flag == "--precision") {
      auto precision = kiln::parse_precision(value);
      if (!precision.ok()) return fail(precision.status().message());
      options.precision = *precision;
    } else if (long long imgsz = 0; flag == "--imgsz" && parse_int(value.c_str(), imgsz) && imgsz <= 8192) {
      options.imgsz = static_cast<int>(imgsz);
    } else if (flag == "--batch" && parse_int(value.c_str(), batch) && batch <= 1024) {
      options.batch = static_cast<int>(batch);
    } else if (!(flag == "--report" && parse_int(value.c_str(), report_seconds))) {
      return fail("'" + flag + " " + value + "': " + usage);
    }
  }
  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  auto model = kiln::Model::load(argv[1], options);
  if (!model.ok()) return fail(model.status().message());
  auto image = kiln::load_image(argv[2]);
  if (!image.ok()) return fail(image.status().message());
  const std::vector<kiln::Image> images(static_cast<size_t>(batch), *image);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto since_start = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  double next_report = 0;  // the first call's line tells the watcher the model is loaded
  long long done = 0;
  while (done < count && !stop_requested) {
    auto predictions = model->predict(std::span<const kiln::Image>(images).first(std::min(batch, count - done)));
    if (!predictions.ok()) return fail("prediction " + std::to_string(done) + ": " + predictions.status().message());
    done += static_cast<long long>(predictions->size());
    if (const double seconds = since_start(); seconds >= next_report) {
      std::printf("%lld predictions, %.1f/s\n", done, static_cast<double>(done) / seconds);
      std::fflush(stdout);
      next_report = seconds + static_cast<double>(report_seconds);
    }
  }
  const double seconds = since_start();
  std::printf("%lld predictions in %.1f s (%.1f/s)%s\n", done, seconds, static_cast<double>(done) / seconds,
              stop_requested ? ", stopped by a signal" : "");
  return 0;
}
