#pragma once
// A live byte count and its high-water mark, updated from any thread without a lock: the peak is
// raised by compare-and-swap, so two threads adding at once cannot lose the higher value.
#include <atomic>
#include <cstdint>

namespace ds {

class PeakCounter {
 public:
  void add(std::int64_t bytes) {
    const std::int64_t now = live_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    std::int64_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
  void sub(std::int64_t bytes) { live_.fetch_sub(bytes, std::memory_order_relaxed); }
  std::int64_t current() const { return live_.load(std::memory_order_relaxed); }
  std::int64_t peak() const { return peak_.load(std::memory_order_relaxed); }
  /// Starts a new peak from what is live now.
  void reset_peak() { peak_.store(current(), std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> live_{0};
  std::atomic<std::int64_t> peak_{0};
};

}  // namespace ds
