#pragma once
// A rank's fp32 ZeRO partition (master weights or gradients) in up to two tiers. DeepSpeed's
// partial optimizer offload (offload_optimizer.ratio < 1) keeps the first sub-groups of the
// partition on the compute device and offloads the rest; without it the partition is one tensor
// in one tier (device, or the offload tier for ZeRO-Offload), and every operation below is the
// plain tensor operation on it.
#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace ds::engine::zero {

class TieredPartition {
 public:
  TieredPartition() = default;
  /// Zeros: elements [0, on_device) in memory of `device`, [on_device, numel) in the offload tier
  /// (offload::HostTier). on_device == numel: no offload tier at all.
  TieredPartition(std::int64_t numel, std::int64_t on_device, const torch::Device& device);

  std::int64_t numel() const { return device_part_.numel() + host_part_.numel(); }
  std::int64_t on_device() const { return device_part_.numel(); }
  /// Elements [0, on_device()), on the compute device (may be empty).
  const torch::Tensor& device_part() const { return device_part_; }
  /// Elements [on_device(), numel()), in the offload tier (may be empty).
  const torch::Tensor& host_part() const { return host_part_; }

  /// Elements [offset, offset + n): a view when they lie in one tier, else a copy in host memory.
  torch::Tensor read(std::int64_t offset, std::int64_t n) const;
  /// The whole partition: the tensor itself in one tier, else a copy in host memory.
  torch::Tensor whole() const { return read(0, numel()); }
  /// Copies elements [offset, offset + dest.numel()) into `dest` (any device and dtype).
  void copy_into(std::int64_t offset, const torch::Tensor& dest) const;
  /// Copies `values` into elements [offset, offset + values.numel()).
  void write(std::int64_t offset, const torch::Tensor& values);
  /// Adds `values` into elements [offset, offset + values.numel()).
  void add(std::int64_t offset, const torch::Tensor& values);
  void scale(double factor);
  void zero();
  /// The sum of squares of all elements, as a 1-element double tensor on `device`.
  torch::Tensor squared_norm(const torch::Device& device) const;

 private:
  /// Calls fn(part view, offset into the range) for the pieces of [offset, offset + n) in each tier.
  void for_each_piece(std::int64_t offset, std::int64_t n,
                      const std::function<void(torch::Tensor, std::int64_t)>& fn) const;

  torch::Tensor device_part_, host_part_;
};

}  // namespace ds::engine::zero
