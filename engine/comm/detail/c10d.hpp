// Private to engine/comm: the c10d types behind Communicator, and the differences between
// LibTorch 1.13 (Debian, CPU) and 2.x (pip/conda, CUDA) confined to one place.
#pragma once

// Debian's libtorch is built with Gloo, but ProcessGroupGloo.hpp is guarded by USE_C10D_GLOO,
// which its TorchConfig.cmake does not define; its gloo/ headers come from libgloo-dev. A pip
// LibTorch is the other way round: its TorchConfig.cmake defines USE_C10D_GLOO and USE_C10D_NCCL
// but the wheel ships neither gloo's headers nor (outside the CUDA toolkit) nccl.h. A backend
// is compiled in when its headers are here, and otherwise refused at run time with a hint.
#if defined(USE_C10D_GLOO) && !__has_include(<gloo/algorithm.h>)
#undef USE_C10D_GLOO
#endif
#if !defined(USE_C10D_GLOO) && __has_include(<gloo/algorithm.h>)
#define USE_C10D_GLOO
#endif
#if defined(USE_C10D_NCCL) && !__has_include(<nccl.h>)
#undef USE_C10D_NCCL
#endif

#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/comm/process_group.hpp"

namespace ds::comm::detail {

// 2.x split the collective interface out of ProcessGroup into Backend; ProcessGroupGloo and
// ProcessGroupNCCL derive from it there and from ProcessGroup in 1.13.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

/// Each rank bumps "hb/<rank>" in the store on its own connection and thread, so that after a
/// failed collective the survivors can tell which ranks stopped (see diagnose()).
class Heartbeat {
 public:
  Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size, std::chrono::milliseconds interval);
  ~Heartbeat();

  /// Watches every rank's counter for about two intervals. Returns the ranks whose counter did
  /// not move; throws when the store itself cannot be reached (rank 0 is gone).
  std::vector<int> silent_ranks();

 private:
  void run();
  std::vector<int64_t> counters();

  c10::intrusive_ptr<c10d::Store> store_;
  int rank_;
  int world_size_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;  // one store operation at a time on this connection
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ds::comm::detail

namespace ds::comm {

struct Communicator::Impl {
  CommOptions options;
  std::string backend_name = "local";
  bool gloo = false;                          // dtype workarounds apply
  c10::intrusive_ptr<c10d::Store> store;      // prefixed; the TCPStore (server on rank 0) inside
  c10::intrusive_ptr<detail::BackendBase> pg; // null when world_size == 1
  std::unique_ptr<detail::Heartbeat> heartbeat;
  std::atomic<uint64_t> calls{0};             // collectives issued, for error messages

  /// Throws ds::UsageError when `tensor` cannot go to a collective (undefined, not contiguous,
  /// wrong device).
  void check_tensor(const char* op, const torch::Tensor& tensor, const char* role = "tensor") const;

  /// Issues a c10d call; a synchronous throw (bad arguments) becomes ds::UsageError.
  c10::intrusive_ptr<c10d::Work> issue(const char* op, const std::function<c10::intrusive_ptr<c10d::Work>()>& call);

  /// Waits for `work`; any failure is rethrown as ds::RuntimeError by fail().
  void wait(const char* op, const c10::intrusive_ptr<c10d::Work>& work);

  /// Builds the user-facing error for a collective that failed while running, naming the ranks
  /// that stopped responding when the heartbeat can tell.
  [[noreturn]] void fail(const char* op, const std::exception& error);
};

namespace detail {

/// The message of a c10d/Gloo exception without C++ backtrace or source-location prefix.
std::string backend_message(const std::exception& error);

/// Creates the TCPStore (server on rank 0), waits until every rank has joined, and returns it
/// wrapped in a PrefixStore. Throws ds::RuntimeError naming the ranks that did not join.
c10::intrusive_ptr<c10d::Store> rendezvous(const CommOptions& options);

/// "rank 3" or "ranks 2, 3".
std::string list_ranks(const std::vector<int>& ranks);

/// A client connection to rank 0's store for the heartbeat (same prefix).
c10::intrusive_ptr<c10d::Store> connect_store(const CommOptions& options);

}  // namespace detail
}  // namespace ds::comm
