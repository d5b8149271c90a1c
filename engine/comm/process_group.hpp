#pragma once
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/comm/dist_env.hpp"

namespace ds::comm {

/// Reductions of all_reduce and reduce_scatter. kAvg is a sum divided by the world size (Gloo has
/// no native average); it needs a floating-point tensor.
enum class ReduceOp { kSum, kAvg, kMax, kMin };

/// "sum", "avg", "max", "min".
std::string to_string(ReduceOp op);

/// Which c10d backend to use.
enum class BackendKind {
  kAuto,  ///< NCCL when `device` is CUDA (and NCCL is compiled in), else Gloo
  kGloo,
  kNccl,
};

/// Whether this build of ds can create a Gloo / NCCL process group: true when the backend's
/// headers were found at compile time (see detail/c10d.hpp), whatever the loaded LibTorch has.
bool gloo_compiled();
bool nccl_compiled();

/// How to join the job. Fill `env` from detect_dist_env() and `timeout` from comm_timeout().
struct CommOptions {
  DistEnv env;                                    ///< rank, world size, rendezvous address
  std::chrono::seconds timeout = kDefaultCommTimeout;  ///< per collective and for the rendezvous
  BackendKind backend = BackendKind::kAuto;
  torch::Device device = torch::kCPU;             ///< where the tensors passed to collectives live
  std::string store_prefix = "ds";                ///< key namespace in the TCPStore (one per group)
  /// Each rank bumps a counter in the store this often, so that after a failed collective the
  /// error can name the ranks that stopped responding. 0 turns the heartbeat (and that
  /// diagnosis) off.
  std::chrono::milliseconds heartbeat_interval{1000};
};

/// CommOptions for this process: detect_dist_env() and comm_timeout() over the real environment
/// (DS_TIMEOUT, else `configured_timeout`, else 600 s). What `ds train` calls before creating
/// its Communicator.
CommOptions options_from_environment(std::optional<std::chrono::seconds> configured_timeout = std::nullopt,
                                     torch::Device device = torch::kCPU);

/// A collective started with an *_async call. wait() blocks until it is done (or failed; failures
/// are thrown as ds::RuntimeError like the blocking calls) and finishes any local post-processing
/// (the sum of an emulated reduce_scatter, the cast back of a bf16 all_reduce). Waiting twice is
/// a no-op. Destroying an un-waited work waits for it and swallows errors, so always wait.
class CommWork {
 public:
  CommWork() = default;
  explicit CommWork(std::function<void()> wait_fn) : wait_(std::move(wait_fn)) {}
  CommWork(CommWork&&) noexcept = default;
  CommWork& operator=(CommWork&& other) noexcept;
  CommWork(const CommWork&) = delete;
  CommWork& operator=(const CommWork&) = delete;
  ~CommWork();
  void wait();

 private:
  std::function<void()> wait_;
};

/// The data-parallel process group: a c10d ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA)
/// joined through a c10d::TCPStore hosted by rank 0 (wrapped in a PrefixStore).
///
/// Every collective must be called by all ranks in the same order with tensors of the same
/// shape and dtype, contiguous, on CommOptions::device. Blocking calls return when the result is
/// in place. A failure (a peer died, a timeout, a backend error) is thrown as ds::RuntimeError
/// naming the collective, this rank, the timeout and — thanks to the heartbeat — the ranks that
/// stopped responding. With world_size 1 no process group is created and every call is local.
///
/// Issue collectives from one thread (their order must match across ranks); overlap
/// communication with computation through the *_async calls, not through threads.
class Communicator {
 public:
  /// Joins the job: rank 0 hosts the store; all ranks wait (up to the timeout) until every rank
  /// has joined, then build the backend. Throws ds::RuntimeError naming the missing ranks or the
  /// unreachable store, ds::UsageError for a backend this build lacks.
  explicit Communicator(const CommOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int world_size() const;
  /// Where this rank sits (local rank for the CUDA device, node rank, launch source).
  const DistEnv& env() const;
  std::chrono::seconds timeout() const;
  /// "gloo", "nccl", or "local" (world size 1).
  std::string backend_name() const;

  /// In place: every rank ends with op over all ranks' `tensor`.
  void all_reduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum);
  CommWork all_reduce_async(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum);

  /// In place: every rank ends with `root`'s `tensor`.
  void broadcast(torch::Tensor& tensor, int root);

  /// Returns world_size tensors; element r is rank r's `input`.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& input);

  /// `output` (numel = world_size * input.numel()) receives rank r's `input` at offset
  /// r * input.numel(). ZeRO's parameter gather into a flat buffer.
  void all_gather_into(torch::Tensor& output, const torch::Tensor& input);
  CommWork all_gather_into_async(torch::Tensor& output, const torch::Tensor& input);

  /// `input` (numel = world_size * output.numel()) is split into world_size equal chunks; rank r
  /// receives op over all ranks of chunk r in `output`. Native on NCCL; on Gloo (which lacks it)
  /// emulated by all_to_all_single then a local reduction — the same bytes on the wire as a ring
  /// reduce-scatter, (N-1)/N of the input per rank.
  void reduce_scatter(torch::Tensor& output, const torch::Tensor& input, ReduceOp op = ReduceOp::kSum);
  CommWork reduce_scatter_async(torch::Tensor& output, const torch::Tensor& input, ReduceOp op = ReduceOp::kSum);

  /// Rank r sends the j-th block of `input` to rank j and receives rank j's r-th block into the
  /// j-th block of `output`. Empty split lists mean equal blocks along dim 0; otherwise they give
  /// the row counts per peer (sum = size(0) of the tensor).
  void all_to_all_single(torch::Tensor& output, const torch::Tensor& input,
                         const std::vector<int64_t>& output_splits = {},
                         const std::vector<int64_t>& input_splits = {});

  /// Returns when every rank has called it.
  void barrier();

  /// Point to point: blocks until `tensor` has been sent to / received from `peer`.
  void send(const torch::Tensor& tensor, int peer, int tag = 0);
  void recv(torch::Tensor& tensor, int peer, int tag = 0);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds::comm
