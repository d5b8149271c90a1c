#include "engine/offload/swap_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/peak_counter.hpp"

#ifdef DS_HAVE_URING
#include <liburing.h>
#endif

namespace ds::engine::offload {
namespace {

PeakCounter g_bytes;  // bytes of swap files in existence, this process

std::once_flag g_no_uring_said, g_no_direct_said;

// One block's request: where in the file, where in memory, how long.
struct Request {
  std::int64_t offset;
  char* buffer;
  std::int64_t bytes;
};

void fail(const std::filesystem::path& path, const std::string& what, int err) {
  throw RuntimeError(format_error(path.string(), what, std::strerror(err), "",
                                  "check offload_optimizer.nvme_path: free space, permissions, a local file system"));
}

// pread/pwrite of one request to completion (they may transfer less than asked).
void blocking_transfer(int fd, bool write, const Request& r, const std::filesystem::path& path) {
  std::int64_t done = 0;
  while (done < r.bytes) {
    ssize_t n = write ? ::pwrite(fd, r.buffer + done, static_cast<std::size_t>(r.bytes - done), r.offset + done)
                      : ::pread(fd, r.buffer + done, static_cast<std::size_t>(r.bytes - done), r.offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, write ? "write failed" : "read failed", errno);
    if (n == 0) fail(path, "unexpected end of file", EIO);
    done += n;
  }
}

}  // namespace

std::int64_t direct_round_up(std::int64_t bytes) {
  return (bytes + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
}

#ifdef DS_HAVE_URING
struct SwapFile::Rings {
  std::vector<io_uring> rings;
  ~Rings() {
    for (auto& r : rings) io_uring_queue_exit(&r);
  }
};

namespace {

// Keeps queue_depth requests in flight on `ring` until all of `requests` are done.
void uring_transfer(io_uring& ring, int fd, bool write, const std::vector<Request>& requests, unsigned depth,
                    const std::filesystem::path& path) {
  std::size_t next = 0, done = 0;
  unsigned in_flight = 0;
  while (done < requests.size()) {
    while (in_flight < depth && next < requests.size()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (sqe == nullptr) break;
      const Request& r = requests[next];
      if (write) io_uring_prep_write(sqe, fd, r.buffer, static_cast<unsigned>(r.bytes), static_cast<__u64>(r.offset));
      else io_uring_prep_read(sqe, fd, r.buffer, static_cast<unsigned>(r.bytes), static_cast<__u64>(r.offset));
      io_uring_sqe_set_data64(sqe, next);
      ++next;
      ++in_flight;
    }
    io_uring_submit(&ring);
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe(&ring, &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) fail(path, "io_uring wait failed", -rc);
    const int res = cqe->res;
    const Request& r = requests[static_cast<std::size_t>(io_uring_cqe_get_data64(cqe))];
    io_uring_cqe_seen(&ring, cqe);
    --in_flight;
    ++done;
    if (res < 0) fail(path, write ? "write failed" : "read failed", -res);
    if (res < r.bytes) {
      // A short transfer (rare; not on O_DIRECT block devices): finish it synchronously.
      blocking_transfer(fd, write, Request{r.offset + res, r.buffer + res, r.bytes - res}, path);
    }
  }
}

}  // namespace
#else
struct SwapFile::Rings {
  std::vector<int> rings;
};
#endif

SwapFile::SwapFile(std::filesystem::path path, std::int64_t bytes, const configs::AioConfig& aio, bool direct)
    : path_(std::move(path)), size_(direct_round_up(bytes)), direct_(direct), aio_(aio), rings_(std::make_unique<Rings>()) {
  if (aio_.block_size <= 0 || aio_.block_size % kDirectAlignment != 0) {
    throw ConfigError(format_error("aio.block_size", "must be a positive multiple of 4096 bytes (O_DIRECT)",
                                   std::to_string(aio_.block_size), "1048576"));
  }
  if (aio_.queue_depth < 1 || aio_.thread_count < 1) {
    throw ConfigError(format_error("aio", "queue_depth and thread_count must be >= 1",
                                   std::to_string(aio_.queue_depth) + " / " + std::to_string(aio_.thread_count)));
  }
  const int flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC;
  fd_ = ::open(path_.c_str(), flags | (direct_ ? O_DIRECT : 0), 0600);
  if (fd_ < 0 && direct_ && errno == EINVAL) {
    direct_ = false;
    std::call_once(g_no_direct_said, [&] {
      log::warn("NVMe offload: ", path_.parent_path().string(),
                " does not support O_DIRECT (tmpfs?); swapping through the page cache");
    });
    fd_ = ::open(path_.c_str(), flags, 0600);
  }
  if (fd_ < 0) fail(path_, "cannot create the swap file", errno);
  if (::ftruncate(fd_, size_) != 0) {
    int err = errno;
    ::close(fd_);
    ::unlink(path_.c_str());
    fail(path_, "cannot size the swap file", err);
  }
  g_bytes.add(size_);
#ifdef DS_HAVE_URING
  for (int t = 0; t < aio_.thread_count; ++t) {
    io_uring ring{};
    int rc = io_uring_queue_init(static_cast<unsigned>(aio_.queue_depth), &ring, 0);
    if (rc < 0) {
      std::call_once(g_no_uring_said, [&] {
        log::warn("NVMe offload: io_uring is not available (", std::strerror(-rc), "); using pread/pwrite");
      });
      for (auto& r : rings_->rings) io_uring_queue_exit(&r);
      rings_->rings.clear();
      break;
    }
    rings_->rings.push_back(ring);
  }
#else
  std::call_once(g_no_uring_said, [] { log::warn("NVMe offload: this ds was built without liburing; using pread/pwrite"); });
#endif
}

SwapFile::~SwapFile() {
  rings_.reset();
  if (fd_ >= 0) ::close(fd_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  g_bytes.sub(size_);
}

bool SwapFile::uring() const { return !rings_->rings.empty(); }

void SwapFile::read(std::int64_t offset, void* dest, std::int64_t bytes) {
  transfer(false, offset, static_cast<char*>(dest), bytes);
}

void SwapFile::write(std::int64_t offset, const void* src, std::int64_t bytes) {
  transfer(true, offset, static_cast<char*>(const_cast<void*>(src)), bytes);
}

void SwapFile::transfer(bool write, std::int64_t offset, char* buffer, std::int64_t bytes) {
  if (offset < 0 || bytes < 0 || offset + bytes > size_ || offset % kDirectAlignment != 0 ||
      bytes % kDirectAlignment != 0 || reinterpret_cast<std::uintptr_t>(buffer) % kDirectAlignment != 0) {
    throw RuntimeError("swap file " + path_.string() + ": misaligned or out-of-range transfer of " +
                       std::to_string(bytes) + " bytes at " + std::to_string(offset));
  }
  // Requests of block_size bytes, dealt round-robin to the rings (thread_count of them).
  const std::size_t lanes = std::max<std::size_t>(1, rings_->rings.size());
  std::vector<std::vector<Request>> per_lane(lanes);
  std::size_t i = 0;
  for (std::int64_t at = 0; at < bytes; at += aio_.block_size, ++i) {
    per_lane[i % lanes].push_back({offset + at, buffer + at, std::min(aio_.block_size, bytes - at)});
  }
  if (!uring()) {
    for (const auto& lane : per_lane) {
      for (const Request& r : lane) blocking_transfer(fd_, write, r, path_);
    }
    return;
  }
#ifdef DS_HAVE_URING
  const unsigned depth = static_cast<unsigned>(aio_.queue_depth);
  if (lanes == 1) {
    uring_transfer(rings_->rings[0], fd_, write, per_lane[0], depth, path_);
    return;
  }
  std::vector<std::exception_ptr> errors(lanes);
  std::vector<std::thread> threads;
  for (std::size_t l = 0; l < lanes; ++l) {
    threads.emplace_back([&, l] {
      try {
        uring_transfer(rings_->rings[l], fd_, write, per_lane[l], depth, path_);
      } catch (...) {
        errors[l] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
#endif
}

std::int64_t SwapFile::live_bytes() { return g_bytes.current(); }
std::int64_t SwapFile::peak_bytes() { return g_bytes.peak(); }

}  // namespace ds::engine::offload
