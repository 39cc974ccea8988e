#include "backends/cuda/plan_compile_workers.h"

#include <cudnn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/ops/conv_cudnn.h"
#include "backends/cuda/timing_cache.h"
#include "core/cpu_count.h"
#include "core/file_util.h"

extern char** environ;

namespace kiln::cuda {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRequestsHeader = "kiln-conv-requests 1";
// A worker's start (process, CUDA context, cuDNN's first heuristics) costs about as much as
// a few compiles, so each takes several requests; 8 workers cover a cold yolo11n build.
constexpr size_t kRequestsPerWorker = 6;
constexpr size_t kMaxWorkers = 8;
// yolo11n's batch-32 plans take a worker a few seconds; far longer means a stuck worker.
constexpr std::chrono::minutes kWorkerDeadline{10};

std::mutex command_mutex;
std::vector<std::string> worker_command;

std::vector<std::string> command() {
  std::lock_guard<std::mutex> lock(command_mutex);
  return worker_command;
}

// A private temp folder, removed with the object that owns it (move-only: a copy's
// destructor would remove the folder under the other).
struct TempDir {
  fs::path path;
  explicit TempDir(fs::path p) : path(std::move(p)) {}
  TempDir(TempDir&& o) noexcept : path(std::exchange(o.path, {})) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

Result<TempDir> make_temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (tmp && *tmp ? std::string(tmp) : std::string("/tmp")) + "/kiln-plans-XXXXXX";
  if (!::mkdtemp(pattern.data())) return error(StatusCode::kIoError, "cannot create a temp folder like ", pattern);
  return TempDir(pattern);
}

Result<pid_t> spawn(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return error(StatusCode::kIoError, "cannot start plan-compile worker ", args[0]);
  return pid;
}

// Whether the worker exited with 0 by `deadline`; one still running then is killed (its
// requests fall to the planner), so that a stuck worker cannot hang the build.
bool exited_cleanly(pid_t pid, std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* cancel) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (r < 0 && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() > deadline || (cancel && cancel->load())) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

void set_plan_compile_worker(std::vector<std::string> command) {
  std::lock_guard<std::mutex> lock(command_mutex);
  worker_command = std::move(command);
}

Status precompile_in_workers(const ir::Graph& graph, PlanBuilder& b) {
  const std::vector<std::string> cmd = command();
  // Nothing to compile where cuDNN's fused graphs are not planned.
  if (cmd.empty() || b.options().direct_conv || !b.options().runtime_compiled_kernels) return Status::Ok();
  const auto t0 = std::chrono::steady_clock::now();
  // Every request the planner would compile: those the timing cache does not answer.
  std::vector<ConvRequest> requests = dry_pass_conv_requests(graph, b);
  if (const TimingCache* cache = b.options().tune ? b.timing_cache() : nullptr)
    std::erase_if(requests, [&](const ConvRequest& q) { return cache->entries().count(b.device_key() + "|" + q.signature()); });
  const size_t workers =
      std::min({kMaxWorkers, core::usable_cores(), (requests.size() + kRequestsPerWorker - 1) / kRequestsPerWorker});
  if (workers < 2) return Status::Ok();

  int device = 0;
  KILN_CUDA_TRY(cudaGetDevice(&device), "cudaGetDevice");
  const int candidates = b.options().tune ? std::max(1, b.options().tune_candidates) : 1;
  // Workers only save time: where their folder or request files cannot be written, the
  // plans compile in process.
  Result<TempDir> made = make_temp_dir();
  if (!made.ok()) return Status::Ok();
  const TempDir dir = std::move(*made);
  std::vector<pid_t> pids(workers, -1);
  for (size_t w = 0; w < workers; ++w) {
    std::string text = std::string(kRequestsHeader) + " " + std::to_string(device) + " " + std::to_string(candidates) + "\n";
    for (size_t i = w; i < requests.size(); i += workers) text += encode_conv_request(requests[i]) + "\n";
    const fs::path in = dir.path / ("requests." + std::to_string(w));
    if (!write_file_atomic(in, text.data(), text.size()).ok()) continue;
    std::vector<std::string> args = cmd;
    args.push_back(in.string());
    args.push_back((dir.path / ("plans." + std::to_string(w))).string());
    auto pid = spawn(args, dir.path / ("log." + std::to_string(w)));
    if (pid.ok()) pids[w] = *pid;
  }
  // A worker that did not start, failed or overran leaves its requests to the planner.
  const auto deadline = std::chrono::steady_clock::now() + kWorkerDeadline;
  for (size_t w = 0; w < workers; ++w) {
    if (pids[w] < 0 || !exited_cleanly(pids[w], deadline, b.options().cancel)) continue;
    // Parsed, not opened as a TimingCache: that keeps a process-wide snapshot per path, and
    // these files are read once.
    auto text = read_file(dir.path / ("plans." + std::to_string(w)));
    if (!text.ok()) continue;  // a worker with nothing compiled writes no file
    const auto plans = TimingCache::parse(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
    KILN_RETURN_IF_ERROR(adopt_compiled_candidates(b, *plans, b.options().restore_threads));
    ++b.stats().compile_processes;
  }
  b.stats().compile_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status::Ok();
}

Status run_plan_compile_worker(const std::string& requests_path, const std::string& plans_path) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(requests_path));
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::string header;
  int device = 0, candidates = 0;
  std::getline(in, header);
  if (std::istringstream h(header); header.rfind(kRequestsHeader, 0) != 0 ||
                                    !(h.ignore(std::string(kRequestsHeader).size()) >> device >> candidates))
    return error(StatusCode::kInvalidArgument, requests_path, ": not a conv request file");
  std::vector<ConvRequest> requests;
  for (std::string line; std::getline(in, line);) {
    auto q = decode_conv_request(line);
    if (!q.ok()) return error(q.status().code(), requests_path, ": ", q.status().message());
    requests.push_back(*q);
  }
  KILN_CUDA_TRY(cudaSetDevice(device), "cudaSetDevice");
  cudnnHandle_t handle = nullptr;
  KILN_RETURN_IF_ERROR(cudnn_status(cudnnCreate(&handle), "cudnnCreate"));
  TimingCache plans(plans_path);
  compile_conv_candidates(requests, candidates, handle, plans);
  Status saved = plans.save();
  cudnnDestroy(handle);
  return saved;
}

}  // namespace kiln::cuda
