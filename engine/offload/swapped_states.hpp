#pragma once
// Optimizer states on the NVMe tier (ZeRO-Infinity's optimizer swapping): `kinds` flat fp32
// arrays of `numel` elements (Adam: exp_avg, exp_avg_sq), one swap file each, streamed through
// host buffers sub-group by sub-group (zero_optimization.sub_group_size elements). While the
// optimizer updates one sub-group, an I/O thread writes the previous one back and reads the next
// ahead, so the step runs in bounded memory (buffer_count / kinds sets of buffers, at least two)
// and overlaps its arithmetic with the transfers.
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "configs/config.hpp"

namespace ds::engine::offload {

class IoThread;
class SwapDir;
class SwapFile;

struct NvmeOptions {
  std::filesystem::path nvme_path;          ///< offload_optimizer.nvme_path (must exist)
  std::string key = "zero_optimization.offload_optimizer.nvme_path";  ///< named in errors
  std::int64_t sub_group_size = 1'000'000'000;  ///< elements per streamed piece
  int buffer_count = 4;                     ///< host buffers for all kinds together
  configs::AioConfig aio;
  std::string tag = "rank0";               ///< names the swap directory (SwapDir)
  torch::Device device = torch::kCPU;       ///< the compute device (pinned buffers on CUDA)
};

class SwappedStates {
 public:
  /// Zero-filled states of `kinds` x `numel` elements in new swap files (named after `names`).
  SwappedStates(const NvmeOptions& options, std::int64_t numel, std::vector<std::string> names);
  ~SwappedStates();
  SwappedStates(const SwappedStates&) = delete;
  SwappedStates& operator=(const SwappedStates&) = delete;

  /// Calls fn(offset, n, states) for each sub-group in order, with states[k] pointing at the
  /// sub-group's elements of kind k in host memory; what fn leaves there is written back.
  using SubGroupFn = std::function<void(std::int64_t offset, std::int64_t n, float* const* states)>;
  void for_each_sub_group(const SubGroupFn& fn);

  /// Kind k whole, read into a new host tensor (checkpoints), and written from one.
  torch::Tensor read_all(std::size_t kind);
  void write_all(std::size_t kind, const torch::Tensor& values);

  std::int64_t numel() const { return numel_; }
  const std::vector<std::string>& names() const { return names_; }
  std::int64_t sub_group_count() const;
  /// Host buffer sets the stream uses (pipeline depth).
  int buffer_sets() const { return sets_; }

 private:
  std::int64_t sub_group_offset(std::int64_t g) const { return g * sub_group_; }
  std::int64_t sub_group_numel(std::int64_t g) const;
  torch::Tensor& buffer(int set, std::size_t kind);
  /// Sub-group g of one state between its file and buffer set `set` (on the I/O thread).
  void transfer(bool write, int set, std::size_t kind, std::int64_t g);
  void read_group(int set, std::int64_t g);
  void write_group(int set, std::int64_t g);

  NvmeOptions options_;
  std::int64_t numel_ = 0;
  std::int64_t sub_group_ = 0;      ///< elements per sub-group, a multiple of 1024 (4096 bytes)
  std::vector<std::string> names_;
  std::unique_ptr<SwapDir> dir_;
  std::vector<std::unique_ptr<SwapFile>> files_;  ///< one per kind
  int sets_ = 2;
  std::vector<torch::Tensor> buffers_;  ///< sets_ x kinds, each sub_group_ elements (HostTier)
  std::unique_ptr<IoThread> io_;
};

}  // namespace ds::engine::offload
