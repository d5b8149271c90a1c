#include "engine/train/memory_tracker.hpp"

#include <c10/core/Allocator.h>
#include <c10/core/alignment.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

#ifdef DS_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ds::engine::train {
namespace {

// Counters are plain atomics (no lock on the allocation path); the peak is raised by CAS so two
// threads allocating at once cannot lose the higher value.
std::atomic<std::int64_t> g_live_bytes{0};
std::atomic<std::int64_t> g_peak_bytes{0};
std::atomic<bool> g_installed{false};

// The allocator we wrap; set once in install() before ours is visible to anyone.
c10::Allocator* g_inner = nullptr;
c10::DeleterFnPtr g_inner_raw_deleter = nullptr;

void add_live(std::int64_t bytes) {
  const std::int64_t now = g_live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::int64_t peak = g_peak_bytes.load(std::memory_order_relaxed);
  while (now > peak && !g_peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

// The byte count travels in a header one alignment unit long just before the data: the data
// stays as aligned as LibTorch's allocator makes it, the deleter needs no lookup table, and data
// == context keeps the raw_allocate/raw_deallocate interface working (oneDNN's scratch buffers
// come through it).
constexpr std::size_t kHeaderBytes = c10::gAlignment;
static_assert(kHeaderBytes >= sizeof(std::size_t));

void delete_with_header(void* data) {
  auto* base = static_cast<char*>(data) - kHeaderBytes;
  std::size_t bytes = 0;
  std::memcpy(&bytes, base, sizeof bytes);
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
  g_inner_raw_deleter(base);
}

// When the wrapped allocator has no raw interface, the context owns its DataPtr instead.
struct Owned {
  c10::DataPtr inner;
  std::size_t bytes;
};

void delete_owned(void* context) {
  auto* owned = static_cast<Owned*>(context);
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(owned->bytes), std::memory_order_relaxed);
  delete owned;  // frees the inner DataPtr through its own deleter
}

// LibTorch 2.3 made Allocator::allocate non-const and added a pure virtual copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define DS_ALLOCATE_CONST
#define DS_ALLOCATOR_HAS_COPY_DATA 1
#else
#define DS_ALLOCATE_CONST const
#endif

class CountingAllocator final : public c10::Allocator {
 public:
#ifdef DS_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
#endif
  c10::DataPtr allocate(std::size_t bytes) DS_ALLOCATE_CONST override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (bytes == 0) return {nullptr, nullptr, raw_deleter() ? &delete_with_header : &delete_owned, cpu};
    if (g_inner_raw_deleter == nullptr) {
      auto* owned = new Owned{g_inner->allocate(bytes), bytes};
      add_live(static_cast<std::int64_t>(bytes));
      return {owned->inner.get(), owned, &delete_owned, cpu};
    }
    auto* base = static_cast<char*>(g_inner->raw_allocate(bytes + kHeaderBytes));
    std::memcpy(base, &bytes, sizeof bytes);
    add_live(static_cast<std::int64_t>(bytes));
    void* data = base + kHeaderBytes;
    return {data, data, &delete_with_header, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override {
    return g_inner_raw_deleter != nullptr ? &delete_with_header : nullptr;
  }
};

std::int64_t cpu_counter(const std::atomic<std::int64_t>& counter) {
  if (!MemoryTracker::installed()) {
    throw RuntimeError(format_error("memory tracker", "the counting CPU allocator is not installed", "", "",
                                    "call MemoryTracker::install() before allocating the tensors to measure"));
  }
  return counter.load(std::memory_order_relaxed);
}

#ifdef DS_TORCH_CUDA
// {current, peak} of the caching allocator's allocated bytes, all pools. The Stat and StatType
// names moved to c10::CachingAllocator in LibTorch 2.5, so they are not spelled here; AGGREGATE
// is index 0 in every version.
std::pair<std::int64_t, std::int64_t> cuda_allocated(const torch::Device& device) {
  // LibTorch 2.x sizes the allocator's per-device state at the first CUDA allocation and refuses
  // queries before it ("Invalid device argument"): nothing allocated yet means zero bytes.
  if (!c10::cuda::CUDACachingAllocator::get()->initialized()) return {0, 0};
  const int index = device.has_index() ? device.index() : c10::cuda::current_device();
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  const auto& aggregate = stats.allocated_bytes[0];
  return {aggregate.current, aggregate.peak};
}
#endif

[[noreturn]] void unsupported(const torch::Device& device) {
  throw UsageError(format_error("memory tracker", "cannot measure this device", device.str(),
                                "cpu, or cuda in a CUDA build of ds"));
}

}  // namespace

void MemoryTracker::install() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_inner = c10::GetAllocator(c10::DeviceType::CPU);
    g_inner_raw_deleter = g_inner->raw_deleter();
    // Never destroyed: tensors may be freed during static destruction at exit.
    static auto* counting = new CountingAllocator();
    // The highest priority: nothing registered later replaces it, so the counts stay exact.
    c10::SetAllocator(c10::DeviceType::CPU, counting, std::numeric_limits<std::uint8_t>::max());
    if (c10::GetAllocator(c10::DeviceType::CPU) != counting) {
      throw RuntimeError(format_error("memory tracker", "LibTorch kept another CPU allocator"));
    }
    g_installed.store(true, std::memory_order_release);
  });
}

bool MemoryTracker::installed() { return g_installed.load(std::memory_order_acquire); }

std::int64_t MemoryTracker::current_bytes(const torch::Device& device) {
  if (device.is_cpu()) return cpu_counter(g_live_bytes);
#ifdef DS_TORCH_CUDA
  if (device.is_cuda()) return cuda_allocated(device).first;
#endif
  unsupported(device);
}

std::int64_t MemoryTracker::peak_bytes(const torch::Device& device) {
  if (device.is_cpu()) return cpu_counter(g_peak_bytes);
#ifdef DS_TORCH_CUDA
  if (device.is_cuda()) return cuda_allocated(device).second;
#endif
  unsupported(device);
}

void MemoryTracker::reset_peak(const torch::Device& device) {
  if (device.is_cpu()) {
    // Lowering to the live bytes races with concurrent allocations only by what they add
    // afterwards, which add_live() then raises the peak by.
    g_peak_bytes.store(cpu_counter(g_live_bytes), std::memory_order_relaxed);
    return;
  }
#ifdef DS_TORCH_CUDA
  if (device.is_cuda()) {
    if (!c10::cuda::CUDACachingAllocator::get()->initialized()) return;
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index()
                                                                       : c10::cuda::current_device());
    return;
  }
#endif
  unsupported(device);
}

MemoryCategories::MemoryCategories(const torch::Device& device)
    : device_(device), mark_(MemoryTracker::current_bytes(device)) {}

void MemoryCategories::record(const std::string& category) {
  const std::int64_t now = MemoryTracker::current_bytes(device_);
  add(category, now - mark_);
  mark_ = now;
}

void MemoryCategories::record_peak(const std::string& category) {
  add(category, std::max<std::int64_t>(0, MemoryTracker::peak_bytes(device_) - mark_));
  mark_ = MemoryTracker::current_bytes(device_);
}

std::int64_t MemoryCategories::bytes(const std::string& category) const {
  for (const auto& [name, bytes] : categories_) {
    if (name == category) return bytes;
  }
  return 0;
}

nlohmann::ordered_json MemoryCategories::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, bytes] : categories_) j[name] = bytes;
  return j;
}

void MemoryCategories::add(const std::string& category, std::int64_t bytes) {
  for (auto& [name, total] : categories_) {
    if (name == category) {
      total += bytes;
      return;
    }
  }
  categories_.emplace_back(category, bytes);
}

}  // namespace ds::engine::train
