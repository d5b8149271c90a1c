#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/token_file.hpp"

namespace ds::engine::data {

/// A batch of training windows: `target` is `input` shifted left by one token.
/// Both int64 on the CPU, shape [micro_batch, seq_len]; the trainer moves them to its device.
struct Batch {
  at::Tensor input;
  at::Tensor target;
};

/// How the sampler draws windows.
struct SamplerOptions {
  std::int64_t seq_len = 0;      ///< T: tokens per window seen by the model (each window reads T + 1)
  std::int64_t micro_batch = 1;  ///< B: windows per batch on this rank
  std::uint64_t seed = 1234;     ///< same seed, same windows
  int rank = 0;                  ///< data-parallel rank of this process
  int world_size = 1;            ///< number of data-parallel ranks
};

/// Everything needed to continue the window stream exactly where it stopped (checkpoints).
struct SamplerState {
  std::uint64_t seed = 0;
  std::uint64_t step = 0;  ///< batches drawn so far (the same on every rank)

  bool operator==(const SamplerState&) const = default;
};

/// `{"seed": .., "step": ..}`.
std::string sampler_state_json(const SamplerState& state);
/// Parses sampler_state_json output; throws UsageError naming `where`.
SamplerState parse_sampler_state(const std::string& text, const std::string& where);

/// Draws random windows of T + 1 tokens from a token file, reproducibly and resumably.
///
/// The generator is counter-based: window g (a global index over all ranks) starts at
/// offset(g) = splitmix64(seed + (g + 1) * golden_gamma) mapped onto [0, N - T - 1] by a
/// 128-bit multiply (Steele, Lea, Flood 2014, "Fast splittable pseudorandom number generators";
/// Lemire 2019, "Fast random integer generation in an interval"). State is therefore just
/// (seed, step), and any batch can be produced without replaying the ones before it.
///
/// Sharding: at step s, rank r of W takes global windows g = (s * W + r) * B + b, b < B.
/// Ranks draw disjoint indices, and the W rank batches of a step, concatenated in rank
/// order, equal the batch of one rank with micro-batch W * B at the same seed.
class WindowSampler {
 public:
  /// Validates the options against the file (window fits, rank < world). Keeps a copy of
  /// `file` (copies share the mapping).
  WindowSampler(const TokenFile& file, const SamplerOptions& options);

  /// Start offsets of the next batch's windows (advances the step).
  std::vector<std::int64_t> next_offsets();
  /// The next batch (advances the step).
  Batch next();

  SamplerState state() const { return {options_.seed, step_}; }
  /// Continues from `state`; throws UsageError when its seed differs from this sampler's.
  void restore(const SamplerState& state);

  /// Offset of global window `index` for `seed` in a file of `num_tokens` tokens.
  static std::int64_t window_offset(std::uint64_t seed, std::uint64_t index, std::int64_t num_tokens,
                                    std::int64_t seq_len);

 private:
  TokenFile file_;
  SamplerOptions options_;
  std::uint64_t step_ = 0;
};

/// Reads windows of seq_len + 1 tokens at `offsets` into a batch (also used by evaluation,
/// which walks consecutive windows instead of random ones).
Batch make_batch(const TokenFile& file, const std::vector<std::int64_t>& offsets, std::int64_t seq_len);

}  // namespace ds::engine::data
