// CPU optimizer throughput: what ZeRO-Offload's CPU step costs per parameter on this machine.
// ds's SIMD + OpenMP Adam kernel (kernels/cpu/adam.hpp) is the row the cost model uses;
// LibTorch's AdamW on the same size is measured beside it as the eager baseline.
#include <omp.h>
#include <torch/torch.h>

#include "kernels/cpu/adam.hpp"
#include "profiles/probes/probes.hpp"

namespace ds::profiles {
namespace {

void add_rate(ProbeReport& report, const std::string& impl, std::int64_t n, int threads,
              const std::vector<double>& seconds) {
  std::vector<double> rate;
  for (double t : seconds) rate.push_back(static_cast<double>(n) / t);
  Summary s = summarize(rate);
  report.add({"cpu.adam", {{"impl", impl}, {"params", n}, {"threads", threads}}, s.median, "params/s", s.spread, s.runs});
}

}  // namespace

void probe_cpu_adam(const ProbeOptions& options, ProbeReport& report) {
  const std::int64_t n = options.quick ? (4 << 20) : (16 << 20);
  const int repeats = options.quick ? 5 : 10;
  torch::manual_seed(7);
  // torch fills in parallel, so each core first-touches the pages it later steps (NUMA).
  auto param = torch::randn({n});
  auto grad = torch::randn({n}) * 1e-3;
  auto exp_avg = torch::zeros({n});
  auto exp_avg_sq = torch::zeros({n});
  kernels::AdamArrays arrays{.params = param.data_ptr<float>(), .grads = grad.data_ptr<float>(),
                             .exp_avg = exp_avg.data_ptr<float>(), .exp_avg_sq = exp_avg_sq.data_ptr<float>(), .n = n};
  kernels::AdamOptions step;
  step.weight_decay = 0.01;
  auto ds_seconds = time_repeated(2, repeats, [&] {
    kernels::adam_step(step, arrays);
    ++step.step;
  });
  add_rate(report, std::string("ds.cpu_adam/") + kernels::to_string(kernels::cpu_isa()), n, omp_get_max_threads(),
           ds_seconds);

  param.set_requires_grad(true);
  param.mutable_grad() = grad;
  torch::optim::AdamW adam({param}, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  auto torch_seconds = time_repeated(2, repeats, [&] { adam.step(); });
  add_rate(report, "torch.optim.AdamW", n, torch::get_num_threads(), torch_seconds);
}

}  // namespace ds::profiles
