#pragma once
// Measured memory: live and peak tensor bytes per device, and a helper that attributes them to
// named categories ("params", "optimizer", ...) for the trainer's report beside the estimator's.
//
// CPU: install() puts a counting allocator in front of LibTorch's CPU allocator, so every tensor
// storage allocated afterwards is counted exactly (bytes requested, not malloc's rounding).
// CUDA: the caching allocator's own statistics (allocated bytes, current and peak).
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ds::engine::train {

/// Live and peak tensor bytes per device. All functions are static: there is one allocator per
/// process, and thread-safe: tensors are allocated and freed on LibTorch's worker threads too.
class MemoryTracker {
 public:
  /// Installs the counting CPU allocator (once per process; later calls do nothing). Call it
  /// before the tensors you want counted are made: tensors allocated earlier are not counted
  /// and, when freed, go back through their own allocator without touching the counts.
  static void install();
  static bool installed();

  /// Bytes of tensor storage alive on `device` now. CPU needs install() (RuntimeError
  /// otherwise); CUDA needs a CUDA build of ds (UsageError otherwise); other devices: UsageError.
  static std::int64_t current_bytes(const torch::Device& device);
  /// The most bytes alive at once on `device` since install() or the last reset_peak().
  static std::int64_t peak_bytes(const torch::Device& device);
  /// Starts a new peak from the bytes alive now (to measure one phase, e.g. one step).
  static void reset_peak(const torch::Device& device);
};

/// Bytes attributed to named categories, from the live bytes at successive marks: the trainer
/// records "params" after building the model, "optimizer" after creating its states, and so on.
class MemoryCategories {
 public:
  /// Starts with a mark at the bytes alive on `device` now.
  explicit MemoryCategories(const torch::Device& device);

  /// Adds the bytes allocated since the previous mark (negative when more was freed) to
  /// `category`, then marks again.
  void record(const std::string& category);
  /// Adds how far the tracker's peak rose above the previous mark (at least 0) to `category`,
  /// then marks again. For a phase's transient bytes (activations of a step): reset_peak() when
  /// it starts; when it ends, record() what it keeps (gradients) first, then record_peak().
  void record_peak(const std::string& category);

  /// Categories in the order first recorded, with their bytes.
  const std::vector<std::pair<std::string, std::int64_t>>& categories() const { return categories_; }
  /// Bytes of `category`; 0 when it was never recorded.
  std::int64_t bytes(const std::string& category) const;
  /// {"<category>": bytes, ...} in recording order.
  nlohmann::ordered_json to_json() const;

 private:
  void add(const std::string& category, std::int64_t bytes);

  torch::Device device_;
  std::int64_t mark_ = 0;
  std::vector<std::pair<std::string, std::int64_t>> categories_;
};

}  // namespace ds::engine::train
