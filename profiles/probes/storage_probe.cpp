// Storage bandwidth and IOPS on the NVMe-offload path: O_DIRECT through io_uring, the way
// ZeRO-Infinity swaps optimizer states. The file is removed afterwards, also on error.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>

#include "profiles/probes/probes.hpp"

#ifdef DS_HAVE_URING
#include <liburing.h>
#endif

namespace ds::profiles {

#ifndef DS_HAVE_URING
void probe_storage(const ProbeOptions&, ProbeReport& report) {
  report.skip("storage", "this ds was built without liburing");
}
#else
namespace {

constexpr std::size_t kAlign = 4096;
// Random 4 KiB reads keep more requests in flight than the sequential passes: IOPS need depth.
constexpr unsigned kRandomReadDepth = 32;

struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t bytes) : size(bytes) {
    if (::posix_memalign(&data, kAlign, bytes) != 0) data = nullptr;
  }
  ~AlignedBuffer() { std::free(data); }
  void* data = nullptr;
  std::size_t size;
};

struct Ring {
  io_uring ring{};
  int status = -1;
  explicit Ring(unsigned depth) { status = io_uring_queue_init(depth, &ring, 0); }
  ~Ring() {
    if (status == 0) io_uring_queue_exit(&ring);
  }
};

struct TempFile {
  std::string path;
  int fd = -1;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
};

// Submits `count` ops of `block` bytes at offsets from `offset_of(i)`, keeping `depth` in flight.
// Returns elapsed seconds, or a negative errno.
template <typename OffsetFn>
double run_ops(Ring& r, int fd, bool write, AlignedBuffer& buf, std::size_t block, std::size_t count,
               unsigned depth, OffsetFn offset_of) {
  auto start = std::chrono::steady_clock::now();
  std::size_t submitted = 0, completed = 0;
  while (completed < count) {
    while (submitted < count && submitted - completed < depth) {
      io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
      if (!sqe) break;
      // Each in-flight op uses its own slice of the buffer.
      char* slot = static_cast<char*>(buf.data) + (submitted % depth) * block;
      if (write) io_uring_prep_write(sqe, fd, slot, static_cast<unsigned>(block), offset_of(submitted));
      else io_uring_prep_read(sqe, fd, slot, static_cast<unsigned>(block), offset_of(submitted));
      ++submitted;
    }
    io_uring_submit(&r.ring);
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe(&r.ring, &cqe);
    if (rc < 0) return rc;
    int res = cqe->res;
    io_uring_cqe_seen(&r.ring, cqe);
    if (res < 0) return res;
    ++completed;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void probe_storage(const ProbeOptions& options, ProbeReport& report) {
  if (options.storage_dir.empty()) {
    report.skip("storage", "no directory given (ds profile --storage-dir DIR)");
    return;
  }
  const std::size_t block = 1 << 20;
  const unsigned depth = 8;
  const std::size_t blocks = options.quick ? 64 : 512;  // 64 MiB / 512 MiB
  const int repeats = options.quick ? 2 : 3;
  Ring ring(kRandomReadDepth);
  if (ring.status < 0) {
    report.skip("storage", std::string("io_uring is not available here: ") + std::strerror(-ring.status));
    return;
  }
  TempFile file;
  file.path = (std::filesystem::path(options.storage_dir) / ("ds-storage-probe-" + std::to_string(::getpid()))).string();
  file.fd = ::open(file.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
  if (file.fd < 0) {
    // The TempFile destructor still unlinks: tmpfs may create the file before refusing O_DIRECT.
    std::string why = errno == EINVAL ? "the file system does not support O_DIRECT (tmpfs?)" : std::strerror(errno);
    report.skip("storage", options.storage_dir + ": " + why);
    return;
  }
  AlignedBuffer buf(block * depth);
  std::mt19937_64 rng(42);
  auto* words = static_cast<std::uint64_t*>(buf.data);
  for (std::size_t i = 0; i < buf.size / 8; ++i) words[i] = rng();  // incompressible data
  std::vector<double> wr, rd;
  for (int rep = 0; rep < repeats; ++rep) {
    double t = run_ops(ring, file.fd, true, buf, block, blocks, depth, [&](std::size_t i) { return i * block; });
    if (t < 0) return report.skip("storage", std::string("write failed: ") + std::strerror(static_cast<int>(-t)));
    ::fdatasync(file.fd);
    wr.push_back(static_cast<double>(blocks * block) / t / 1e9);
    t = run_ops(ring, file.fd, false, buf, block, blocks, depth, [&](std::size_t i) { return i * block; });
    if (t < 0) return report.skip("storage", std::string("read failed: ") + std::strerror(static_cast<int>(-t)));
    rd.push_back(static_cast<double>(blocks * block) / t / 1e9);
  }
  const std::size_t random_ops = options.quick ? 4000 : 20000;
  const std::size_t pages = blocks * block / kAlign;
  std::vector<double> iops;
  for (int rep = 0; rep < repeats; ++rep) {
    double t = run_ops(ring, file.fd, false, buf, kAlign, random_ops, kRandomReadDepth,
                       [&](std::size_t) { return (rng() % pages) * kAlign; });
    if (t < 0) return report.skip("storage.rand_read", std::string("random read failed: ") + std::strerror(static_cast<int>(-t)));
    iops.push_back(static_cast<double>(random_ops) / t);
  }
  nlohmann::json params = {{"dir", options.storage_dir}, {"file_bytes", blocks * block}, {"block_bytes", block},
                           {"queue_depth", depth}, {"o_direct", true}};
  Summary w = summarize(wr), r = summarize(rd), io = summarize(iops);
  report.add({"storage.seq_write", params, w.median, "GB/s", w.spread, w.runs});
  report.add({"storage.seq_read", params, r.median, "GB/s", r.spread, r.runs});
  params["block_bytes"] = kAlign;
  params["queue_depth"] = kRandomReadDepth;
  report.add({"storage.rand_read_4k", params, io.median, "IOPS", io.spread, io.runs});
}
#endif

}  // namespace ds::profiles
