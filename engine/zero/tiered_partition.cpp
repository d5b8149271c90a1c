#include "engine/zero/tiered_partition.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"

namespace ds::engine::zero {

TieredPartition::TieredPartition(std::int64_t numel, std::int64_t on_device, const torch::Device& device) {
  if (numel < 0 || on_device < 0 || on_device > numel) {
    throw RuntimeError("zero: a partition of " + std::to_string(numel) + " elements cannot keep " +
                       std::to_string(on_device) + " on the device");
  }
  device_part_ = torch::zeros({on_device}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  host_part_ = on_device == numel ? torch::empty({0}, torch::kFloat) : offload::HostTier::zeros(numel - on_device, device);
}

void TieredPartition::for_each_piece(std::int64_t offset, std::int64_t n,
                                     const std::function<void(torch::Tensor, std::int64_t)>& fn) const {
  if (offset < 0 || n < 0 || offset + n > numel()) {
    throw RuntimeError("zero: elements [" + std::to_string(offset) + ", " + std::to_string(offset + n) +
                       ") are outside a partition of " + std::to_string(numel()));
  }
  const std::int64_t split = on_device();
  if (offset < split) {
    const std::int64_t len = std::min(n, split - offset);
    fn(device_part_.narrow(0, offset, len), 0);
  }
  if (offset + n > split) {
    const std::int64_t from = std::max(offset, split);
    fn(host_part_.narrow(0, from - split, offset + n - from), from - offset);
  }
}

torch::Tensor TieredPartition::read(std::int64_t offset, std::int64_t n) const {
  const std::int64_t split = on_device();
  if (offset + n <= split) return device_part_.narrow(0, offset, n);
  if (offset >= split) return host_part_.narrow(0, offset - split, n);
  torch::Tensor out = torch::empty({n}, torch::kFloat);
  copy_into(offset, out);
  return out;
}

void TieredPartition::copy_into(std::int64_t offset, const torch::Tensor& dest) const {
  for_each_piece(offset, dest.numel(), [&](torch::Tensor piece, std::int64_t at) {
    dest.narrow(0, at, piece.numel()).copy_(piece);
  });
}

void TieredPartition::write(std::int64_t offset, const torch::Tensor& values) {
  for_each_piece(offset, values.numel(), [&](torch::Tensor piece, std::int64_t at) {
    piece.copy_(values.narrow(0, at, piece.numel()));
  });
}

void TieredPartition::add(std::int64_t offset, const torch::Tensor& values) {
  for_each_piece(offset, values.numel(), [&](torch::Tensor piece, std::int64_t at) {
    piece.add_(values.narrow(0, at, piece.numel()).to(piece.device()));
  });
}

void TieredPartition::scale(double factor) {
  device_part_.mul_(factor);
  host_part_.mul_(factor);
}

void TieredPartition::zero() {
  device_part_.zero_();
  host_part_.zero_();
}

torch::Tensor TieredPartition::squared_norm(const torch::Device& device) const {
  torch::Tensor sum;
  for (const torch::Tensor* part : {&device_part_, &host_part_}) {
    if (part->numel() == 0) continue;
    torch::Tensor squares = part->norm(2).to(device, torch::kDouble).pow(2).reshape({1});
    sum = sum.defined() ? sum + squares : squares;
  }
  return sum.defined() ? sum : torch::zeros({1}, torch::TensorOptions().dtype(torch::kDouble).device(device));
}

}  // namespace ds::engine::zero
