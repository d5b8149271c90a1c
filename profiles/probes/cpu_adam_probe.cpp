// CPU optimizer throughput: what ZeRO-Offload's CPU step costs per parameter on this machine.
// Until ds's SIMD Adam kernel lands (kernels/cpu), this measures LibTorch's AdamW, labelled so.
#include <torch/torch.h>

#include "profiles/probes/probes.hpp"

namespace ds::profiles {

void probe_cpu_adam(const ProbeOptions& options, ProbeReport& report) {
  const std::int64_t n = options.quick ? (4 << 20) : (16 << 20);
  const int repeats = options.quick ? 5 : 10;
  torch::manual_seed(7);
  auto param = torch::randn({n}).set_requires_grad(true);
  param.mutable_grad() = torch::randn({n}) * 1e-3;
  torch::optim::AdamW adam({param}, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  auto seconds = time_repeated(2, repeats, [&] { adam.step(); });
  std::vector<double> rate;
  for (double t : seconds) rate.push_back(static_cast<double>(n) / t);
  Summary s = summarize(rate);
  report.add({"cpu.adam",
              {{"impl", "torch.optim.AdamW"}, {"params", n}, {"threads", torch::get_num_threads()}},
              s.median, "params/s", s.spread, s.runs});
}

}  // namespace ds::profiles
