#include "backends/cpu/executor.h"
#include "api/runner.h"

namespace kiln::api {

namespace {

class CpuRunner : public Runner {
 public:
  explicit CpuRunner(std::unique_ptr<ir::Graph> graph) : graph_(std::move(graph)) {}
  Status init() {
    KILN_ASSIGN_OR_RETURN(cpu::Executor exec, cpu::Executor::create(*graph_));
    executor_ = std::make_unique<cpu::Executor>(std::move(exec));
    return Status::Ok();
  }
  Result<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override { return executor_->run(inputs); }

 private:
  std::unique_ptr<ir::Graph> graph_;  // on the heap: the executor keeps a pointer to it
  std::unique_ptr<cpu::Executor> executor_;
};

}  // namespace

Result<std::unique_ptr<Runner>> make_cpu_runner(ir::Graph graph) {
  auto runner = std::make_unique<CpuRunner>(std::make_unique<ir::Graph>(std::move(graph)));
  KILN_RETURN_IF_ERROR(runner->init());
  return std::unique_ptr<Runner>(std::move(runner));
}

}  // namespace kiln::api
