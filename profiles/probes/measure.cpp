#include "profiles/probes/measure.hpp"

#include "kernels/cpu/cpu_isa.hpp"

namespace ds::profiles {

// The GPU names read_machine_info() got from nvidia-smi stay, so that the stored fingerprint
// matches what every later lookup computes; the CUDA probe adds memory and SMs by device index.
// Without nvidia-smi (or when it disagrees on the count) the probe's list stands.
void gpus_from_measurements(Profile& p) {
  std::vector<GpuInfo> probed;
  for (const auto& m : p.measurements) {
    if (m.probe != "gpu.memory") continue;
    GpuInfo g{m.params.value("name", ""), static_cast<std::uint64_t>(m.value), 0};
    if (const Measurement* sm = p.find("gpu.sm_count", {{"device", m.params.value("device", 0)}})) {
      g.sm_count = static_cast<int>(sm->value);
    }
    probed.push_back(g);
  }
  if (probed.empty()) return;
  if (p.machine.gpus.size() != probed.size()) {
    p.machine.gpus = std::move(probed);
    return;
  }
  for (std::size_t i = 0; i < probed.size(); ++i) {
    p.machine.gpus[i].memory_bytes = probed[i].memory_bytes;
    p.machine.gpus[i].sm_count = probed[i].sm_count;
  }
}

Profile measure_machine(const ProbeOptions& options) {
  Profile p;
  p.machine = read_machine_info();
  p.machine.simd = kernels::to_string(kernels::cpu_isa());
  p.quick = options.quick;
  ProbeReport report = run_probes(options);
  p.measurements = std::move(report.measurements);
  p.skipped = std::move(report.skipped);
  gpus_from_measurements(p);
  return p;
}

}  // namespace ds::profiles
