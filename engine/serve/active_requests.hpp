#pragma once
// The generation requests a server is answering, so that a graceful shutdown can wait for them
// and cancel the ones still running after its grace period.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "engine/serve/generation.hpp"

namespace ds::engine::serve {

class ActiveRequests {
 public:
  /// A request's registration; it ends when the last copy of the ticket is destroyed (for a
  /// stream, when the HTTP layer lets go of the response).
  class Ticket {
   public:
    Ticket(ActiveRequests& owner, std::uint64_t key) : owner_(owner), key_(key) {}
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    /// The engine stream to cancel if the server stops before the request is done.
    void attach(const std::shared_ptr<RequestStream>& stream);

   private:
    ActiveRequests& owner_;
    std::uint64_t key_;
  };

  /// Registers a request; must outlive no ticket it handed out.
  std::shared_ptr<Ticket> enter();
  /// Requests registered now.
  std::size_t count() const;
  /// Waits until none is registered or `deadline` passes; true when none is.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  /// Cancels every attached stream (the engine finishes them with FinishReason::kCancelled).
  void cancel_all();

 private:
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::map<std::uint64_t, std::weak_ptr<RequestStream>> requests_;
  std::uint64_t next_key_ = 0;
};

}  // namespace ds::engine::serve
