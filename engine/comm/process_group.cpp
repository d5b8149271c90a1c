// Communicator construction (rendezvous, backend choice) and the error handling of every call.
#include "engine/comm/process_group.hpp"

#include <c10/util/Exception.h>

#include <cstdlib>

#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/comm/detail/c10d.hpp"

namespace ds::comm {
namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

c10::intrusive_ptr<detail::BackendBase> make_gloo(const CommOptions& options, const c10::intrusive_ptr<c10d::Store>& store) {
#ifdef USE_C10D_GLOO
  auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
  // Same interface choice as torch.distributed: GLOO_SOCKET_IFNAME wins; a loopback master means
  // a single-node job, where the loopback device works even when the hostname does not resolve.
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  } else if (is_loopback(options.env.master_addr)) {
    gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.env.rank, options.env.world_size, gloo_options);
#else
  throw UsageError(format_error("comm", "this build has no Gloo backend (ProcessGroupGloo.hpp needs gloo's headers)", {}, {},
                                "install libgloo-dev (scripts/setup) and rebuild"));
#endif
}

c10::intrusive_ptr<detail::BackendBase> make_nccl(const CommOptions& options, const c10::intrusive_ptr<c10d::Store>& store) {
#ifdef USE_C10D_NCCL
  auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
  nccl_options->timeout = options.timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, options.env.rank, options.env.world_size, nccl_options);
#else
  throw UsageError(format_error("comm", "this build has no NCCL backend", {}, {},
                                "build against a CUDA LibTorch with -DUSE_C10D_NCCL, or use CPU tensors (Gloo)"));
#endif
}

bool wants_nccl(const CommOptions& options) {
  switch (options.backend) {
    case BackendKind::kGloo: return false;
    case BackendKind::kNccl: return true;
    case BackendKind::kAuto: break;
  }
#ifdef USE_C10D_NCCL
  return options.device.is_cuda();
#else
  return false;
#endif
}

}  // namespace

bool gloo_compiled() {
#ifdef USE_C10D_GLOO
  return true;
#else
  return false;
#endif
}

bool nccl_compiled() {
#ifdef USE_C10D_NCCL
  return true;
#else
  return false;
#endif
}

std::string to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kAvg: return "avg";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
  }
  return "unknown";
}

CommOptions options_from_environment(std::optional<std::chrono::seconds> configured_timeout, torch::Device device) {
  const EnvMap env = current_environment();
  CommOptions options;
  options.env = detect_dist_env(env);
  options.timeout = comm_timeout(env, configured_timeout);
  options.device = device;
  return options;
}

CommWork& CommWork::operator=(CommWork&& other) noexcept {
  if (this != &other) {
    try {
      wait();
    } catch (...) {  // NOLINT(bugprone-empty-catch): documented: an un-waited work's error is dropped
    }
    wait_ = std::move(other.wait_);
    other.wait_ = nullptr;
  }
  return *this;
}

CommWork::~CommWork() {
  try {
    wait();
  } catch (...) {  // NOLINT(bugprone-empty-catch): destructors must not throw; callers wait() explicitly
  }
}

void CommWork::wait() {
  if (!wait_) return;
  auto fn = std::move(wait_);
  wait_ = nullptr;
  fn();
}

Communicator::Communicator(const CommOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  const DistEnv& env = options.env;
  if (env.world_size <= 1) return;
  impl_->store = detail::rendezvous(options);
  if (wants_nccl(options)) {
    impl_->pg = make_nccl(options, impl_->store);
    impl_->backend_name = "nccl";
  } else {
    impl_->pg = make_gloo(options, impl_->store);
    impl_->backend_name = "gloo";
    impl_->gloo = true;
  }
  if (options.heartbeat_interval.count() > 0) {
    impl_->heartbeat = std::make_unique<detail::Heartbeat>(detail::connect_store(options), env.rank, env.world_size,
                                                           options.heartbeat_interval);
  }
  ds::log::debug("comm: rank ", env.rank, " of ", env.world_size, " joined via ", env.master_addr, ":", env.master_port,
                 " (", to_string(env.source), ", ", impl_->backend_name, ", timeout ", options.timeout.count(), " s)");
}

Communicator::~Communicator() = default;

int Communicator::rank() const { return impl_->options.env.rank; }
int Communicator::world_size() const { return std::max(1, impl_->options.env.world_size); }
const DistEnv& Communicator::env() const { return impl_->options.env; }
std::chrono::seconds Communicator::timeout() const { return impl_->options.timeout; }
std::string Communicator::backend_name() const { return impl_->backend_name; }

void Communicator::Impl::check_tensor(const char* op, const torch::Tensor& tensor, const char* role) const {
  const std::string where = std::string("collective ") + op;
  if (!tensor.defined()) throw UsageError(format_error(where, std::string(role) + " is undefined"));
  if (!tensor.is_contiguous()) {
    throw UsageError(format_error(where, std::string(role) + " is not contiguous", {}, {}, "pass tensor.contiguous()"));
  }
  // A device without an index ("cuda") accepts any index; "cuda:1" only itself.
  const bool same_device = tensor.device().type() == options.device.type() &&
                           (!options.device.has_index() || tensor.device().index() == options.device.index());
  if (pg && !same_device) {
    throw UsageError(format_error(where, std::string(role) + " is on the wrong device", tensor.device().str(),
                                  options.device.str()));
  }
}

c10::intrusive_ptr<c10d::Work> Communicator::Impl::issue(const char* op,
                                                         const std::function<c10::intrusive_ptr<c10d::Work>()>& call) {
  ++calls;
  try {
    return call();
  } catch (const std::exception& e) {
    throw UsageError(format_error(std::string("collective ") + op, "rejected by " + backend_name + " [" +
                                                                       detail::backend_message(e) + "]"));
  }
}

void Communicator::Impl::wait(const char* op, const c10::intrusive_ptr<c10d::Work>& work) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    fail(op, e);
  }
}

namespace detail {

std::string backend_message(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::string text = c10_error ? c10_error->what_without_backtrace() : error.what();
  text = text.substr(0, text.find('\n'));
  // Gloo prefixes "[./gloo/transport/tcp/pair.cc:589] "; the source location helps no user.
  if (text.rfind("[", 0) == 0 && text.find("] ") != std::string::npos) text = text.substr(text.find("] ") + 2);
  return text;
}

}  // namespace detail
}  // namespace ds::comm
