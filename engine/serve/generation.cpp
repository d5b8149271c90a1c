#include "engine/serve/generation.hpp"

namespace ds::engine::serve {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "error";
}

std::optional<GenerationUpdate> RequestStream::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [&] { return !updates_.empty(); })) return std::nullopt;
  GenerationUpdate update = std::move(updates_.front());
  updates_.pop_front();
  return update;
}

void RequestStream::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
}

bool RequestStream::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void RequestStream::push(GenerationUpdate update) {
  {
    std::lock_guard lock(mutex_);
    if (update.finish) finished_ = true;
    updates_.push_back(std::move(update));
  }
  ready_.notify_all();
}

bool RequestStream::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

}  // namespace ds::engine::serve
