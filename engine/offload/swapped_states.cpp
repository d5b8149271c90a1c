#include "engine/offload/swapped_states.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <future>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "engine/offload/io_thread.hpp"
#include "engine/offload/swap_dir.hpp"
#include "engine/offload/swap_file.hpp"

namespace ds::engine::offload {

namespace {

constexpr std::int64_t kElementsPerBlock = kDirectAlignment / static_cast<std::int64_t>(sizeof(float));

std::int64_t round_to_block(std::int64_t n) { return (n + kElementsPerBlock - 1) / kElementsPerBlock * kElementsPerBlock; }

}  // namespace

SwappedStates::SwappedStates(const NvmeOptions& options, std::int64_t numel, std::vector<std::string> names)
    : options_(options), numel_(numel), names_(std::move(names)) {
  if (names_.empty()) throw RuntimeError("NVMe offload: no optimizer states to swap");
  if (options_.sub_group_size <= 0) {
    throw ConfigError(format_error("zero_optimization.sub_group_size", "must be > 0", std::to_string(options_.sub_group_size)));
  }
  const std::int64_t kinds = static_cast<std::int64_t>(names_.size());
  if (options_.buffer_count < kinds) {
    throw ConfigError(format_error("zero_optimization.offload_optimizer.buffer_count",
                                   "must be at least the number of optimizer states per parameter",
                                   std::to_string(options_.buffer_count), ">= " + std::to_string(kinds)));
  }
  sub_group_ = round_to_block(std::max<std::int64_t>(1, std::min(options_.sub_group_size, std::max<std::int64_t>(numel_, 1))));
  // Two sets at least, so the next sub-group is read while this one is updated.
  sets_ = static_cast<int>(std::max<std::int64_t>(2, options_.buffer_count / kinds));
  sets_ = static_cast<int>(std::min<std::int64_t>(sets_, std::max<std::int64_t>(1, sub_group_count())));
  dir_ = std::make_unique<SwapDir>(options_.nvme_path, options_.tag, options_.key);
  const std::int64_t file_elements = numel_ == 0 ? 0 : (sub_group_count() - 1) * sub_group_ +
                                                            round_to_block(sub_group_numel(sub_group_count() - 1));
  for (const std::string& name : names_) {
    files_.push_back(std::make_unique<SwapFile>(dir_->path() / (name + ".swp"), file_elements * 4, options_.aio));
  }
  for (int s = 0; s < sets_; ++s) {
    for (std::int64_t k = 0; k < kinds; ++k) {
      buffers_.push_back(HostTier::zeros(sub_group_, options_.device, static_cast<std::size_t>(kDirectAlignment)));
    }
  }
  io_ = std::make_unique<IoThread>();
}

SwappedStates::~SwappedStates() {
  io_.reset();  // finishes queued transfers before the files and buffers go
}

std::int64_t SwappedStates::sub_group_count() const { return numel_ == 0 ? 0 : (numel_ + sub_group_ - 1) / sub_group_; }

std::int64_t SwappedStates::sub_group_numel(std::int64_t g) const {
  return std::min(sub_group_, numel_ - sub_group_offset(g));
}

torch::Tensor& SwappedStates::buffer(int set, std::size_t kind) { return buffers_[set * files_.size() + kind]; }

void SwappedStates::transfer(bool write, int set, std::size_t kind, std::int64_t g) {
  const std::int64_t offset = sub_group_offset(g) * 4, bytes = round_to_block(sub_group_numel(g)) * 4;
  if (write) files_[kind]->write(offset, buffer(set, kind).data_ptr(), bytes);
  else files_[kind]->read(offset, buffer(set, kind).data_ptr(), bytes);
}

void SwappedStates::read_group(int set, std::int64_t g) {
  for (std::size_t k = 0; k < files_.size(); ++k) transfer(false, set, k, g);
}

void SwappedStates::write_group(int set, std::int64_t g) {
  for (std::size_t k = 0; k < files_.size(); ++k) transfer(true, set, k, g);
}

void SwappedStates::for_each_sub_group(const SubGroupFn& fn) {
  const std::int64_t groups = sub_group_count();
  std::vector<std::future<void>> reads(sets_), writes;
  auto read_ahead = [&](std::int64_t g) {
    const int set = static_cast<int>(g % sets_);
    reads[set] = io_->submit([this, set, g] { read_group(set, g); });
  };
  for (std::int64_t g = 0; g < std::min<std::int64_t>(sets_, groups); ++g) read_ahead(g);
  std::vector<float*> states(files_.size());
  try {
    for (std::int64_t g = 0; g < groups; ++g) {
      const int set = static_cast<int>(g % sets_);
      reads[set].get();
      for (std::size_t k = 0; k < files_.size(); ++k) states[k] = buffer(set, k).data_ptr<float>();
      fn(sub_group_offset(g), sub_group_numel(g), states.data());
      writes.push_back(io_->submit([this, set, g] { write_group(set, g); }));
      if (g + sets_ < groups) read_ahead(g + sets_);  // queued after this write: reuses its buffers safely
    }
  } catch (...) {
    // Let the transfers already queued finish before the buffers they use can go.
    for (auto& r : reads) {
      if (r.valid()) r.wait();
    }
    for (auto& w : writes) w.wait();
    throw;
  }
  for (auto& w : writes) w.get();
}

torch::Tensor SwappedStates::read_all(std::size_t kind) {
  torch::Tensor out = torch::empty({numel_}, torch::kFloat);
  const std::int64_t groups = sub_group_count();
  for (std::int64_t g = 0; g < groups; ++g) {
    io_->submit([this, kind, g] { transfer(false, 0, kind, g); }).get();
    std::memcpy(out.data_ptr<float>() + sub_group_offset(g), buffer(0, kind).data_ptr<float>(),
                static_cast<std::size_t>(sub_group_numel(g)) * 4);
  }
  return out;
}

void SwappedStates::write_all(std::size_t kind, const torch::Tensor& values) {
  if (values.numel() != numel_) {
    throw RuntimeError("NVMe offload: state '" + names_.at(kind) + "' has " + std::to_string(values.numel()) +
                       " elements, expected " + std::to_string(numel_));
  }
  torch::Tensor src = values.to(torch::kCPU, torch::kFloat).contiguous();
  const std::int64_t groups = sub_group_count();
  for (std::int64_t g = 0; g < groups; ++g) {
    // Each state has a file of its own: only this one is written. The block's tail past the
    // last element keeps the buffer's earlier contents, which nothing reads.
    std::memcpy(buffer(0, kind).data_ptr<float>(), src.data_ptr<float>() + sub_group_offset(g),
                static_cast<std::size_t>(sub_group_numel(g)) * 4);
    io_->submit([this, kind, g] { transfer(true, 0, kind, g); }).get();
  }
}

}  // namespace ds::engine::offload
