#include "engine/serve/active_requests.hpp"

namespace ds::engine::serve {

ActiveRequests::Ticket::~Ticket() {
  {
    std::lock_guard lock(owner_.mutex_);
    owner_.requests_.erase(key_);
  }
  owner_.idle_.notify_all();
}

void ActiveRequests::Ticket::attach(const std::shared_ptr<RequestStream>& stream) {
  std::lock_guard lock(owner_.mutex_);
  owner_.requests_[key_] = stream;
}

std::shared_ptr<ActiveRequests::Ticket> ActiveRequests::enter() {
  std::lock_guard lock(mutex_);
  const std::uint64_t key = next_key_++;
  requests_[key];
  return std::make_shared<Ticket>(*this, key);
}

std::size_t ActiveRequests::count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

bool ActiveRequests::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return idle_.wait_until(lock, deadline, [&] { return requests_.empty(); });
}

void ActiveRequests::cancel_all() {
  std::lock_guard lock(mutex_);
  for (auto& [key, weak] : requests_) {
    if (auto stream = weak.lock()) stream->cancel();
  }
}

}  // namespace ds::engine::serve
