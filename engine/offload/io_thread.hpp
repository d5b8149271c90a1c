#pragma once
// One thread running the NVMe tier's transfers in submission order: a read queued after a write
// to the same buffer starts only once that write is done, with no waiting on the caller's side.
// A swap file is used by one thread at a time this way (its io_uring rings are not shared).
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace ds::engine::offload {

class IoThread {
 public:
  IoThread();
  /// Runs the jobs already queued, then stops.
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  /// Queues `job`; the future is ready when it has run and holds what it threw.
  std::future<void> submit(std::function<void()> job);

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;  ///< last: starts once the members above exist
};

}  // namespace ds::engine::offload
