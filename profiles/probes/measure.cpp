#include "profiles/probes/measure.hpp"

#include "kernels/cpu/cpu_isa.hpp"

namespace ds::profiles {

void gpus_from_measurements(Profile& p) {
  p.machine.gpus.clear();
  for (const auto& m : p.measurements) {
    if (m.probe != "gpu.memory") continue;
    GpuInfo g{m.params.value("name", ""), static_cast<std::uint64_t>(m.value), 0};
    if (const Measurement* sm = p.find("gpu.sm_count", {{"device", m.params.value("device", 0)}})) {
      g.sm_count = static_cast<int>(sm->value);
    }
    p.machine.gpus.push_back(g);
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
