#include "engine/torch_info.hpp"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/torch.h>

namespace ds::engine {

TorchInfo torch_info() {
  TorchInfo info;
  info.version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                 std::to_string(TORCH_VERSION_PATCH);
  info.cuda_available = torch::cuda::is_available();
  info.cuda_device_count = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
#ifdef USE_C10D_NCCL
  info.nccl_available = true;
#endif
#ifdef USE_C10D_GLOO
  info.gloo_available = true;
#endif
  info.intraop_threads = at::get_num_threads();
  info.parallel_info = at::get_parallel_info();
  info.build_config = at::show_config();
  return info;
}

}  // namespace ds::engine
