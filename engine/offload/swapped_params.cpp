#include "engine/offload/swapped_params.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "engine/offload/io_thread.hpp"
#include "engine/offload/swap_dir.hpp"
#include "engine/offload/swap_file.hpp"

namespace ds::engine::offload {

SwappedParams::SwappedParams(const NvmeOptions& options, std::int64_t buffer_size, std::vector<std::int64_t> chunks,
                             torch::ScalarType dtype)
    : chunks_(std::move(chunks)), dtype_(dtype) {
  const std::string key = "zero_optimization.offload_param";
  if (options.buffer_count < 1) {
    throw ConfigError(format_error(key + ".buffer_count", "must be at least 1 (2 or more read the next chunk ahead)",
                                   std::to_string(options.buffer_count)));
  }
  const std::int64_t largest = chunks_.empty() ? 0 : *std::max_element(chunks_.begin(), chunks_.end());
  if (buffer_size < largest) {
    throw ConfigError(format_error(key + ".buffer_size", "too small for the largest parameter chunk a rank swaps in",
                                   std::to_string(buffer_size), ">= " + std::to_string(largest) + " elements",
                                   "a chunk is a transformer block's parameters (or the embeddings and head) "
                                   "divided by the number of ranks"));
  }
  const std::int64_t element = static_cast<std::int64_t>(c10::elementSize(dtype_));
  std::int64_t offset = 0;
  for (std::int64_t n : chunks_) {
    offsets_.push_back(offset);
    offset += direct_round_up(n * element);
  }
  buffer_numel_ = direct_round_up(std::max<std::int64_t>(largest, 1) * element) / element;
  dir_ = std::make_unique<SwapDir>(options.nvme_path, options.tag, options.key);
  file_ = std::make_unique<SwapFile>(dir_->path() / "params.swp", offset, options.aio);
  for (int s = 0; s < options.buffer_count; ++s) {
    buffers_.push_back(HostTier::zeros(buffer_numel_, options.device, static_cast<std::size_t>(kDirectAlignment), dtype_));
  }
  slots_.resize(buffers_.size());
  io_ = std::make_unique<IoThread>();
}

SwappedParams::~SwappedParams() {
  io_.reset();  // finishes queued transfers before the buffers and the file go
}

std::int64_t SwappedParams::file_bytes() const { return file_->size(); }

int SwappedParams::find(std::size_t b) const {
  for (std::size_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].bucket == static_cast<std::int64_t>(b)) return static_cast<int>(s);
  }
  return -1;
}

void SwappedParams::settle(int slot) {
  Slot& s = slots_[slot];
  if (!s.pending.valid()) return;
  try {
    s.pending.get();
  } catch (...) {
    s.bucket = -1;
    s.read_ahead = false;
    throw;
  }
}

int SwappedParams::claim(std::size_t b, int keep) {
  int slot = find(b);
  if (slot < 0) {
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      if (static_cast<int>(s) == keep) continue;
      if (slot < 0 || slots_[s].used < slots_[slot].used) slot = static_cast<int>(s);
    }
  }
  settle(slot);
  slots_[slot].bucket = static_cast<std::int64_t>(b);
  slots_[slot].read_ahead = false;
  slots_[slot].used = ++clock_;
  return slot;
}

void SwappedParams::read_into(int slot, std::size_t b) {
  const std::int64_t offset = offsets_.at(b), bytes = direct_round_up(chunks_[b] * static_cast<std::int64_t>(c10::elementSize(dtype_)));
  void* dest = buffers_[slot].data_ptr();
  slots_[slot].pending = io_->submit([this, offset, dest, bytes] { file_->read(offset, dest, bytes); });
  ++reads_;
}

torch::Tensor SwappedParams::view(int slot, std::size_t b) { return buffers_[slot].narrow(0, 0, chunks_[b]); }

torch::Tensor SwappedParams::fetch(std::size_t b) {
  int slot = find(b);
  if (slot >= 0) {
    if (slots_[slot].read_ahead) ++prefetch_hits_;
    settle(slot);
    slots_[slot].read_ahead = false;
    slots_[slot].used = ++clock_;
  } else {
    slot = claim(b, -1);
    read_into(slot, b);
    settle(slot);
  }
  last_fetched_ = slot;
  return view(slot, b);
}

void SwappedParams::prefetch(std::size_t b) {
  if (slots_.size() < 2 || find(b) >= 0) return;
  const int slot = claim(b, last_fetched_);
  read_into(slot, b);
  slots_[slot].read_ahead = true;
}

void SwappedParams::write(std::size_t b, const torch::Tensor& values) {
  if (values.numel() != chunks_.at(b)) {
    throw RuntimeError("NVMe parameter offload: bucket " + std::to_string(b) + " got " + std::to_string(values.numel()) +
                       " elements, expected " + std::to_string(chunks_[b]));
  }
  const int slot = claim(b, -1);
  view(slot, b).copy_(values.reshape({-1}));
  const std::int64_t offset = offsets_[b], bytes = direct_round_up(chunks_[b] * static_cast<std::int64_t>(c10::elementSize(dtype_)));
  const void* src = buffers_[slot].data_ptr();
  slots_[slot].pending = io_->submit([this, offset, src, bytes] { file_->write(offset, src, bytes); });
  last_fetched_ = -1;  // the chunk handed out last may have been this buffer's
}

}  // namespace ds::engine::offload
