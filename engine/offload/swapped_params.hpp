#pragma once
// ZeRO-3's parameter partition on the NVMe tier (ZeRO-Infinity's parameter offload,
// offload_param.device nvme): this rank's chunk of every bucket, in the model dtype, in one swap
// file, each chunk from a 4 KiB boundary. Host memory holds buffer_count chunk buffers used as a
// cache: fetch(b) hands out bucket b's chunk (reading it first unless it is there), prefetch(b)
// queues that read on an I/O thread so it runs while the block before it computes, and write(b)
// stores new values through a buffer, which then holds them (a fetch right after reads nothing).
#include <torch/types.h>

#include <cstdint>
#include <future>
#include <memory>
#include <vector>

#include "engine/offload/swapped_states.hpp"

namespace ds::engine::offload {

class IoThread;
class SwapDir;
class SwapFile;

class SwappedParams {
 public:
  /// Swap file for chunks of `chunks[b]` elements of `dtype`, zero-filled; options.buffer_count
  /// host buffers of the largest chunk. Throws ConfigError naming offload_param.buffer_count
  /// (below 1) or offload_param.buffer_size (`buffer_size` elements cannot hold the largest chunk).
  SwappedParams(const NvmeOptions& options, std::int64_t buffer_size, std::vector<std::int64_t> chunks,
                torch::ScalarType dtype);
  ~SwappedParams();
  SwappedParams(const SwappedParams&) = delete;
  SwappedParams& operator=(const SwappedParams&) = delete;

  /// Bucket b's chunk in host memory (a view of a buffer), read in if needed; valid until the
  /// next call on this object.
  torch::Tensor fetch(std::size_t b);
  /// Starts reading bucket b's chunk unless a buffer holds it already; never evicts the chunk
  /// fetch last handed out. Without a second buffer it does nothing.
  void prefetch(std::size_t b);
  /// Writes `values` (chunks[b] elements, any dtype: converted) as bucket b's chunk.
  void write(std::size_t b, const torch::Tensor& values);

  std::size_t buffer_count() const { return slots_.size(); }
  std::int64_t buffer_numel() const { return buffer_numel_; }  ///< elements per buffer
  std::int64_t file_bytes() const;
  /// Chunks read from the file so far, and fetches that found their chunk already read ahead.
  std::int64_t reads() const { return reads_; }
  std::int64_t prefetch_hits() const { return prefetch_hits_; }

 private:
  struct Slot {
    std::int64_t bucket = -1;  ///< the chunk the buffer holds (or is being read/written), -1: none
    std::future<void> pending;  ///< the transfer in flight on the buffer
    bool read_ahead = false;    ///< filled by prefetch and not fetched since
    std::uint64_t used = 0;     ///< when last handed out or filled (LRU)
  };
  /// The slot holding bucket b, or -1.
  int find(std::size_t b) const;
  /// A slot to hold bucket b (the least recently used one other than `keep`), idle.
  int claim(std::size_t b, int keep);
  void read_into(int slot, std::size_t b);
  void settle(int slot);  ///< waits for the slot's transfer; a failed one leaves it empty and throws
  torch::Tensor view(int slot, std::size_t b);

  std::vector<std::int64_t> chunks_;
  std::vector<std::int64_t> offsets_;  ///< byte offset of each chunk in the file
  torch::ScalarType dtype_;
  std::int64_t buffer_numel_ = 0;
  std::unique_ptr<SwapDir> dir_;
  std::unique_ptr<SwapFile> file_;
  std::vector<torch::Tensor> buffers_;  ///< HostTier, 4 KiB aligned
  std::vector<Slot> slots_;
  int last_fetched_ = -1;
  std::uint64_t clock_ = 0;
  std::int64_t reads_ = 0;
  std::int64_t prefetch_hits_ = 0;
  std::unique_ptr<IoThread> io_;  ///< last: joined first, before the buffers and file go
};

}  // namespace ds::engine::offload
