#include "engine/offload/host_tier.hpp"

#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "common/error.hpp"
#include "common/peak_counter.hpp"

namespace ds::engine::offload {
namespace {

// Process-wide: the tier's buffers are freed by their tensors' deleters, on any thread.
PeakCounter g_bytes;

}  // namespace

torch::Tensor HostTier::zeros(std::int64_t n, const torch::Device& device, std::size_t alignment,
                              torch::ScalarType dtype) {
  if (n < 0) throw RuntimeError("offload: negative buffer size " + std::to_string(n));
  const auto options = torch::TensorOptions().dtype(dtype);
  const std::int64_t bytes = n * static_cast<std::int64_t>(c10::elementSize(dtype));
  if (device.is_cuda()) {
    // LibTorch's pinned host allocator; the view below holds it and counts its bytes.
    torch::Tensor pinned = torch::zeros({n}, options.pinned_memory(true));
    g_bytes.add(bytes);
    return torch::from_blob(
        pinned.data_ptr(), {n},
        [pinned, bytes](void*) mutable {
          pinned.reset();
          g_bytes.sub(bytes);
        },
        options);
  }
  const std::size_t rounded = (static_cast<std::size_t>(bytes) + alignment - 1) / alignment * alignment;
  void* data = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
  if (data == nullptr) {
    throw RuntimeError(format_error("offload", "out of host memory", std::to_string(bytes) + " bytes", "",
                                    "more RAM per node, more ranks to partition over, or offload_optimizer.device nvme"));
  }
  std::memset(data, 0, rounded);
  g_bytes.add(bytes);
  return torch::from_blob(
      data, {n},
      [bytes](void* p) {
        std::free(p);
        g_bytes.sub(bytes);
      },
      options);
}

std::int64_t HostTier::current_bytes() { return g_bytes.current(); }
std::int64_t HostTier::peak_bytes() { return g_bytes.peak(); }
void HostTier::reset_peak() { g_bytes.reset_peak(); }

}  // namespace ds::engine::offload
