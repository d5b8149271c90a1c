// GPU probes: GEMM by dtype, device/host bandwidths, launch latency — timed with CUDA events.
// Compiled only against a CUDA LibTorch (DS_TORCH_CUDA); skipped with a reason otherwise.
#include <torch/torch.h>

#include "profiles/probes/probes.hpp"

#ifdef DS_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#endif

namespace ds::profiles {

#ifndef DS_TORCH_CUDA
void probe_gpu(const ProbeOptions&, ProbeReport& report) {
  report.skip("gpu", "this ds is built against a CPU-only LibTorch");
}
#else
namespace {

// Milliseconds per call of fn, measured between two CUDA events around `iters` calls.
std::vector<double> event_times_ms(int warmup, int repeats, int iters, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> out;
  for (int r = 0; r < repeats; ++r) {
    at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
    start.record();
    for (int i = 0; i < iters; ++i) fn();
    stop.record();
    stop.synchronize();
    out.push_back(start.elapsed_time(stop) / iters);
  }
  return out;
}

void add_rate(ProbeReport& report, const std::string& probe, nlohmann::json params, const std::vector<double>& ms,
              double amount, double scale, const std::string& unit) {
  std::vector<double> rates;
  for (double t : ms) rates.push_back(amount / (t * 1e-3) / scale);
  Summary s = summarize(rates);
  report.add({probe, std::move(params), s.median, unit, s.spread, s.runs});
}

void probe_device(int device, const ProbeOptions& options, ProbeReport& report) {
  torch::NoGradGuard no_grad;
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
  auto prop = at::cuda::getDeviceProperties(device);
  torch::Device dev(torch::kCUDA, static_cast<c10::DeviceIndex>(device));
  nlohmann::json base = {{"device", device}, {"name", prop->name}};
  report.add({"gpu.memory", base, static_cast<double>(prop->totalGlobalMem), "bytes", 0, 1});
  report.add({"gpu.sm_count", base, static_cast<double>(prop->multiProcessorCount), "SMs", 0, 1});
  const int repeats = options.quick ? 5 : 10;
  const std::int64_t n = options.quick ? 4096 : 8192;
  struct Mode { const char* name; torch::ScalarType dtype; bool tf32; };
  // Square, and the transformer shapes the cost model prices (as the CPU probe does): tokens x
  // hidden -> 4 x hidden (MLP up-projection) and tokens x hidden -> 3 x hidden (fused QKV), at a
  // hidden of 4096 (Llama-2-7B) over n tokens.
  struct Shape { const char* name; std::int64_t m, n, k; };
  const Shape shapes[] = {{"square", n, n, n}, {"mlp", n, 4 * 4096, 4096}, {"qkv", n, 3 * 4096, 4096}};
  for (const Mode& m : {Mode{"fp32", torch::kFloat32, false}, Mode{"tf32", torch::kFloat32, true},
                        Mode{"fp16", torch::kFloat16, false}, Mode{"bf16", torch::kBFloat16, false}}) {
    at::globalContext().setAllowTF32CuBLAS(m.tf32);
    for (const Shape& shape : shapes) {
      auto a = torch::randn({shape.m, shape.k}, torch::TensorOptions().device(dev).dtype(m.dtype));
      auto b = torch::randn({shape.k, shape.n}, torch::TensorOptions().device(dev).dtype(m.dtype));
      auto c = torch::empty({shape.m, shape.n}, a.options());
      auto ms = event_times_ms(3, repeats, 5, [&] { torch::mm_out(c, a, b); });
      nlohmann::json p = base;
      p.update({{"dtype", m.name}, {"shape", shape.name}, {"m", shape.m}, {"n", shape.n}, {"k", shape.k}});
      add_rate(report, "gpu.gemm", p, ms, 2.0 * static_cast<double>(shape.m) * static_cast<double>(shape.n) *
                                             static_cast<double>(shape.k), 1e12, "TFLOP/s");
    }
  }
  at::globalContext().setAllowTF32CuBLAS(false);
  const std::int64_t bytes = options.quick ? (256 << 20) : (1024 << 20);
  auto src = torch::randn({bytes / 4}, torch::TensorOptions().device(dev));
  auto dst = torch::empty_like(src);
  // A device-to-device copy reads and writes every byte.
  add_rate(report, "gpu.d2d", base, event_times_ms(2, repeats, 5, [&] { dst.copy_(src); }), 2.0 * bytes, 1e9, "GB/s");
  for (bool pinned : {true, false}) {
    auto host = torch::randn({bytes / 4}, torch::TensorOptions().pinned_memory(pinned));
    nlohmann::json p = base;
    p["pinned"] = pinned;
    add_rate(report, "gpu.h2d", p, event_times_ms(1, repeats, 2, [&] { dst.copy_(host, true); }), bytes, 1e9, "GB/s");
    add_rate(report, "gpu.d2h", p, event_times_ms(1, repeats, 2, [&] { host.copy_(src, true); }), bytes, 1e9, "GB/s");
  }
  auto tiny = torch::zeros({1}, torch::TensorOptions().device(dev));
  auto launch = event_times_ms(10, repeats, 1000, [&] { tiny.add_(1.0); });
  Summary s = summarize(launch);
  report.add({"gpu.launch_latency", base, s.median * 1e3, "us", s.spread, s.runs});
}

}  // namespace

void probe_gpu(const ProbeOptions& options, ProbeReport& report) {
  if (!torch::cuda::is_available()) {
    report.skip("gpu", "LibTorch reports no CUDA device");
    return;
  }
  for (int d = 0; d < static_cast<int>(torch::cuda::device_count()); ++d) probe_device(d, options, report);
}
#endif

}  // namespace ds::profiles
