#pragma once
// One file of the NVMe offload tier (ZeRO-Infinity): fixed-size, read and written in place with
// O_DIRECT through io_uring, in requests of aio.block_size bytes with aio.queue_depth of them in
// flight per ring and aio.thread_count rings working on one transfer at once. Where io_uring is
// unavailable (built without liburing, or refused by the kernel/seccomp) plain pread/pwrite do
// the same requests; where the file system refuses O_DIRECT (tmpfs) the page cache is used. Both
// fallbacks are said once in the log. The file is removed when the object goes.
#include <cstdint>
#include <filesystem>
#include <memory>

#include "configs/config.hpp"

namespace ds::engine::offload {

/// O_DIRECT's alignment for buffers, offsets and sizes (the largest logical block size in use).
inline constexpr std::int64_t kDirectAlignment = 4096;

/// `bytes` rounded up to kDirectAlignment.
std::int64_t direct_round_up(std::int64_t bytes);

class SwapFile {
 public:
  /// Creates (or truncates) `path` with `bytes` (rounded up to kDirectAlignment) of zeros.
  /// `direct` false goes through the page cache from the start (what a refused O_DIRECT falls
  /// back to). Throws RuntimeError naming the path when it cannot (no directory, no space, no
  /// permission).
  SwapFile(std::filesystem::path path, std::int64_t bytes, const configs::AioConfig& aio, bool direct = true);
  ~SwapFile();
  SwapFile(const SwapFile&) = delete;
  SwapFile& operator=(const SwapFile&) = delete;

  /// Reads `bytes` at `offset` into `dest`. Offset and size multiples of kDirectAlignment, dest
  /// aligned to it. Blocks until done; throws RuntimeError on a short or failed transfer.
  void read(std::int64_t offset, void* dest, std::int64_t bytes);
  /// The same, writing `src`.
  void write(std::int64_t offset, const void* src, std::int64_t bytes);

  const std::filesystem::path& path() const { return path_; }
  std::int64_t size() const { return size_; }
  bool direct() const { return direct_; }        ///< opened with O_DIRECT
  bool uring() const;                            ///< transfers go through io_uring

  /// Bytes of swap files that exist now (this process), and the most that existed at once.
  static std::int64_t live_bytes();
  static std::int64_t peak_bytes();

 private:
  void transfer(bool write, std::int64_t offset, char* buffer, std::int64_t bytes);
  struct Rings;
  std::filesystem::path path_;
  std::int64_t size_ = 0;
  int fd_ = -1;
  bool direct_ = true;
  configs::AioConfig aio_;
  std::unique_ptr<Rings> rings_;
};

}  // namespace ds::engine::offload
