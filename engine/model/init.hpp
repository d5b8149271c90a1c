#pragma once
// Seeded, reproducible weight initialisation in the GPT-2 style (Radford et al. 2019, as in
// HF GPT2PreTrainedModel._init_weights and nanoGPT), used for every family:
//   embeddings (wte, wpe, embed_tokens) and projection weights   ~ N(0, 0.02)
//   residual output projections (attn.c_proj, mlp.c_proj, o_proj, down_proj) ~ N(0, 0.02 / sqrt(2 L))
//   biases 0, norm weights 1.
// Tensors are filled in parameter-registration order from one CPU generator seeded with `seed`,
// so the same spec and seed give bitwise the same weights.
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ds::engine::model {

class CausalLM;

/// The initialiser's standard deviation for projection weights (initializer_range).
inline constexpr double kInitStd = 0.02;

/// Fills every parameter of `model` as described above (the model must be on the CPU).
void init_weights(CausalLM& model, std::uint64_t seed);

/// The value init_weights gives each parameter, one new fp32 CPU tensor at a time in the same
/// order: fn(parameter name, value). The model's own tensors are not read or written (they may
/// be placeholders), so a ZeRO-3 rank can keep its part of each and drop the rest.
using InitialValueFn = std::function<void(const std::string& name, const torch::Tensor& value)>;
void initial_values(const CausalLM& model, std::uint64_t seed, const InitialValueFn& fn);

/// True for the HF module names of residual output projections, whose init is scaled by 1/sqrt(2L).
bool is_residual_projection(std::string_view module_name);

}  // namespace ds::engine::model
