#include "engine/torch_info.hpp"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include "engine/comm/process_group.hpp"

namespace ds::engine {
namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return "";
  const auto last = s.find_last_not_of(" \t\r,");
  return std::string(s.substr(first, last - first + 1));
}

// cudaRuntimeGetVersion: 1000*major + 10*minor (CUDA Runtime API, "Version Management").
std::string cuda_runtime_version(long v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// cudnnGetVersion: 1000*major + 100*minor + patch before cuDNN 9, 10000*major + 100*minor + patch since.
std::string cudnn_version(long v) {
  const long major_unit = v >= 90000 ? 10000 : 1000;
  return std::to_string(v / major_unit) + "." + std::to_string(v % major_unit / 100) + "." + std::to_string(v % 100);
}

// ncclGetVersion: 10000*major + 100*minor + patch since NCCL 2.9 (NCCL_VERSION_CODE in nccl.h).
std::string nccl_version() {
  using GetVersion = int (*)(int*);
  auto get = reinterpret_cast<GetVersion>(dlsym(RTLD_DEFAULT, "ncclGetVersion"));
  int v = 0;
  if (get == nullptr || get(&v) != 0 || v <= 0) return "";
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}

// Gloo is compiled into libtorch_cpu or not; the build settings do not say, the symbol table does.
// createDefaultDevice() took no argument up to 2.x and a lazy-init flag since.
bool gloo_in_process() {
  return dlsym(RTLD_DEFAULT, "_ZN4c10d16ProcessGroupGloo19createDefaultDeviceEv") != nullptr ||
         dlsym(RTLD_DEFAULT, "_ZN4c10d16ProcessGroupGloo19createDefaultDeviceEb") != nullptr;
}

// Build settings say ON in 1.13 and 1 in later releases.
bool setting_on(const std::string& config, const std::string& key) {
  const auto v = torch_build_setting(config, key);
  return v == "ON" || v == "1";
}

void fill_cuda(TorchInfo& info) {
  const auto& hooks = at::detail::getCUDAHooks();
  info.cuda_compiled = setting_on(info.build_config, "USE_CUDA");
  info.cuda_available = torch::cuda::is_available();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (hooks.hasCUDART()) info.cuda_version = cuda_runtime_version(hooks.versionCUDART());
  if (hooks.hasCuDNN()) info.cudnn_version = cudnn_version(hooks.versionCuDNN());
}

}  // namespace

std::string torch_build_setting(std::string_view config, std::string_view key) {
  const std::string settings = torch_config_line(config, "Build settings:");
  const std::string needle = std::string(key) + "=";
  std::size_t pos = 0;
  while ((pos = settings.find(needle, pos)) != std::string::npos) {
    if (pos == 0 || settings[pos - 1] == ' ') {
      const auto start = pos + needle.size();
      const auto end = settings.find(", ", start);
      return trim(std::string_view(settings).substr(start, end == std::string::npos ? end : end - start));
    }
    pos += needle.size();
  }
  return "";
}

std::string torch_config_line(std::string_view text, std::string_view prefix) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    const auto first = line.find_first_not_of(" \t-");
    if (first != std::string_view::npos && line.substr(first).starts_with(prefix)) {
      return trim(line.substr(first + prefix.size()));
    }
    start = end + 1;
  }
  return "";
}

TorchInfo torch_info() {
  TorchInfo info;
  info.version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                 std::to_string(TORCH_VERSION_PATCH);
  info.build_config = at::show_config();
  info.parallel_info = at::get_parallel_info();
  fill_cuda(info);
  info.nccl_available = setting_on(info.build_config, "USE_NCCL");
  info.nccl_version = nccl_version();
  info.gloo_available = gloo_in_process();
  info.ds_gloo = comm::gloo_compiled();
  info.ds_nccl = comm::nccl_compiled();
  info.intraop_threads = at::get_num_threads();
  info.interop_threads = at::get_num_interop_threads();
  info.parallel_backend = torch_config_line(info.parallel_info, "ATen parallel backend:");
  info.cpu_capability = torch_config_line(info.build_config, "CPU capability usage:");
  return info;
}

namespace {

// The few NVML entry points ds needs, resolved at run time. Signatures and the memory struct
// from nvml.h (NVML API reference, "Device Queries"); they are stable across driver versions.
struct Nvml {
  struct Memory {
    unsigned long long total, free, used;
  };
  using Device = void*;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  const char* (*error_string)(int) = nullptr;
  int (*driver_version)(char*, unsigned) = nullptr;
  int (*count)(unsigned*) = nullptr;
  int (*handle)(unsigned, Device*) = nullptr;
  int (*name)(Device, char*, unsigned) = nullptr;
  int (*memory)(Device, Memory*) = nullptr;

  bool load(void* lib) {
    auto get = [lib](auto& fn, const char* symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, symbol));
      return fn != nullptr;
    };
    return get(init, "nvmlInit_v2") && get(shutdown, "nvmlShutdown") && get(error_string, "nvmlErrorString") &&
           get(driver_version, "nvmlSystemGetDriverVersion") && get(count, "nvmlDeviceGetCount_v2") &&
           get(handle, "nvmlDeviceGetHandleByIndex_v2") && get(name, "nvmlDeviceGetName") &&
           get(memory, "nvmlDeviceGetMemoryInfo");
  }
};

void read_devices(const Nvml& nvml, DriverGpus& out) {
  char text[96] = {};
  if (nvml.driver_version(text, sizeof text) == 0) out.driver_version = text;
  unsigned count = 0;
  if (const int rc = nvml.count(&count); rc != 0) {
    out.error = std::string("nvmlDeviceGetCount: ") + nvml.error_string(rc);
    return;
  }
  for (unsigned i = 0; i < count; ++i) {
    GpuDevice device;
    device.index = static_cast<int>(i);
    Nvml::Device handle = nullptr;
    if (nvml.handle(i, &handle) != 0) continue;
    if (nvml.name(handle, text, sizeof text) == 0) device.name = text;
    Nvml::Memory memory{};
    if (nvml.memory(handle, &memory) == 0) device.memory_bytes = static_cast<double>(memory.total);
    out.devices.push_back(device);
  }
}

}  // namespace

DriverGpus driver_gpus() {
  DriverGpus out;
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (lib == nullptr) {
    out.error = "libnvidia-ml.so.1 not found (no NVIDIA driver)";
    return out;
  }
  Nvml nvml;
  if (!nvml.load(lib)) {
    out.error = "libnvidia-ml.so.1 lacks the NVML entry points ds uses";
  } else if (const int rc = nvml.init(); rc != 0) {
    out.error = std::string("nvmlInit: ") + nvml.error_string(rc);
  } else {
    out.driver_loaded = true;
    read_devices(nvml, out);
    nvml.shutdown();
  }
  dlclose(lib);
  return out;
}

}  // namespace ds::engine
