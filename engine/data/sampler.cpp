#include "engine/data/sampler.hpp"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ds::engine::data {
namespace {

constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

// SplitMix64's output function (Steele, Lea, Flood 2014; constants from Vigna's splitmix64.c).
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void require(bool ok, const std::string& what, const std::string& got, const std::string& expected) {
  if (!ok) throw UsageError(format_error("data sampler", what, got, expected));
}

}  // namespace

std::string sampler_state_json(const SamplerState& state) {
  nlohmann::ordered_json j;
  j["seed"] = state.seed;
  j["step"] = state.step;
  return j.dump();
}

SamplerState parse_sampler_state(const std::string& text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  SamplerState state;
  for (const char* key : {"seed", "step"}) {
    if (j.is_discarded() || !j.is_object() || !j.contains(key) || !j[key].is_number_unsigned()) {
      throw UsageError(format_error(where, std::string("sampler state field '") + key + "' is missing or not an "
                                    "unsigned integer", "", "{\"seed\": N, \"step\": N}"));
    }
  }
  state.seed = j["seed"].get<std::uint64_t>();
  state.step = j["step"].get<std::uint64_t>();
  return state;
}

WindowSampler::WindowSampler(const TokenFile& file, const SamplerOptions& options) : file_(file), options_(options) {
  require(options.seq_len >= 1, "sequence length must be positive", std::to_string(options.seq_len), ">= 1");
  require(options.micro_batch >= 1, "micro-batch must be positive", std::to_string(options.micro_batch), ">= 1");
  require(options.world_size >= 1, "world size must be positive", std::to_string(options.world_size), ">= 1");
  require(options.rank >= 0 && options.rank < options.world_size, "rank out of range", std::to_string(options.rank),
          "0 <= rank < " + std::to_string(options.world_size));
  const auto need = static_cast<std::size_t>(options.seq_len) + 1;
  if (file.size() < need) {
    throw UsageError(format_error(file.info().path.string(), "token file is too short for one training window",
                                  std::to_string(file.size()) + " tokens",
                                  "at least seq_len + 1 = " + std::to_string(need),
                                  "use a shorter sequence length or prepare more text"));
  }
}

std::int64_t WindowSampler::window_offset(std::uint64_t seed, std::uint64_t index, std::int64_t num_tokens,
                                          std::int64_t seq_len) {
  const std::uint64_t x = mix64(seed + (index + 1) * kGoldenGamma);
  // Offsets 0 .. N - T - 1 leave room for the T + 1 tokens of a window.
  const auto range = static_cast<std::uint64_t>(num_tokens - seq_len);
  return static_cast<std::int64_t>((static_cast<unsigned __int128>(x) * range) >> 64);
}

std::vector<std::int64_t> WindowSampler::next_offsets() {
  const auto b = static_cast<std::uint64_t>(options_.micro_batch);
  const auto w = static_cast<std::uint64_t>(options_.world_size);
  const std::uint64_t first = (step_ * w + static_cast<std::uint64_t>(options_.rank)) * b;
  std::vector<std::int64_t> offsets(b);
  for (std::uint64_t i = 0; i < b; ++i) {
    offsets[i] = window_offset(options_.seed, first + i, static_cast<std::int64_t>(file_.size()), options_.seq_len);
  }
  ++step_;
  return offsets;
}

Batch WindowSampler::next() { return make_batch(file_, next_offsets(), options_.seq_len); }

void WindowSampler::restore(const SamplerState& state) {
  if (state.seed != options_.seed) {
    throw UsageError(format_error("sampler state", "seed differs from this run's data seed",
                                  std::to_string(state.seed), std::to_string(options_.seed),
                                  "resume with the seed the checkpoint was trained with"));
  }
  step_ = state.step;
}

Batch make_batch(const TokenFile& file, const std::vector<std::int64_t>& offsets, std::int64_t seq_len) {
  const auto rows = static_cast<std::int64_t>(offsets.size());
  torch::Tensor windows = torch::empty({rows, seq_len + 1}, torch::kLong);
  std::int64_t* data = windows.data_ptr<std::int64_t>();
  for (std::int64_t r = 0; r < rows; ++r) {
    file.read(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(seq_len + 1), data + r * (seq_len + 1));
  }
  return {windows.slice(1, 0, seq_len).contiguous(), windows.slice(1, 1, seq_len + 1).contiguous()};
}

}  // namespace ds::engine::data
