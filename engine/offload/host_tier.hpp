#pragma once
// The offload tier's memory: host buffers for what ZeRO-Offload moves off the compute device (the
// fp32 master, the optimizer states, the fp32 gradient partition).
//
// With a GPU they are pinned (page-locked), so copies to and from the device are DMA. On a
// CPU-only machine the "device" is the CPU too; the tier's buffers then come from outside
// LibTorch's CPU allocator, so MemoryTracker's CPU figures keep meaning "the compute device" and
// a test can see offload move bytes from one to the other, as on a GPU. Either way the tier
// counts its own bytes, the measured side of the estimator's CPU column.
#include <torch/types.h>

#include <cstddef>
#include <cstdint>

namespace ds::engine::offload {

class HostTier {
 public:
  /// A zeroed, contiguous tensor of `n` elements of `dtype` in host memory, for a compute device
  /// `device` (pinned, so page-aligned, when it is CUDA), aligned to `alignment` bytes (a power
  /// of two; 4096 for O_DIRECT). Counted until its storage is freed.
  static torch::Tensor zeros(std::int64_t n, const torch::Device& device, std::size_t alignment = 64,
                             torch::ScalarType dtype = torch::kFloat);

  /// Bytes of tier buffers alive now.
  static std::int64_t current_bytes();
  /// The most alive at once since the process started or the last reset_peak().
  static std::int64_t peak_bytes();
  /// Starts a new peak from the bytes alive now.
  static void reset_peak();
};

}  // namespace ds::engine::offload
