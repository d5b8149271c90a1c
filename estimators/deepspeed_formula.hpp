#pragma once
// DeepSpeed's own model-states estimators, reimplemented so users can compare with ds's whole
// estimate: estimate_zero2_model_states_mem_needs (deepspeed/runtime/zero/stage_1_and_2.py) and
// estimate_zero3_model_states_mem_needs (deepspeed/runtime/zero/stage3.py), with their
// *_all_live (counts taken from the model) and *_all_cold (counts given) front ends. Same float
// operations in the same order, truncated with int() where DeepSpeed truncates, so results match
// to the byte. They count model states only: no activations, buffers or runtime.
#include <cstdint>
#include <vector>

namespace ds::estimators {

struct ModelSpec;

/// One row of DeepSpeed's table ("per CPU | per GPU | Options").
struct DeepSpeedFormulaRow {
  int stage = 2;                   ///< 2 or 3
  bool offload_optimizer = false;  ///< cpu_offload
  bool offload_param = false;      ///< cpu_offload_params (stage 3)
  bool zero_init = false;          ///< zero.Init (stage 3)
  std::int64_t cpu_bytes = 0;      ///< per node, as DeepSpeed defines it
  std::int64_t gpu_bytes = 0;      ///< per GPU
};

/// Inputs of DeepSpeed's functions.
struct DeepSpeedFormulaInput {
  std::int64_t total_params = 0;          ///< unique parameters
  std::int64_t largest_layer_params = 0;  ///< largest module's own parameters (stage 3)
  int gpus_per_node = 1;
  int nodes = 1;
  double additional_buffer_factor = 1.5;  ///< DeepSpeed's default
};

/// estimate_zero2_model_states_mem_needs(total_params, num_gpus_per_node, num_nodes, cpu_offload,
/// additional_buffer_factor).
DeepSpeedFormulaRow zero2_model_states_mem_needs(const DeepSpeedFormulaInput& in, bool cpu_offload);

/// estimate_zero3_model_states_mem_needs(total_params, largest_layer_params, ..., cpu_offload,
/// cpu_offload_params, zero_init, additional_buffer_factor).
DeepSpeedFormulaRow zero3_model_states_mem_needs(const DeepSpeedFormulaInput& in, bool cpu_offload,
                                                 bool cpu_offload_params, bool zero_init);

/// The rows DeepSpeed's *_all_cold functions print: ZeRO-2 with and without CPU offload, then
/// the six ZeRO-3 combinations in DeepSpeed's loop order.
std::vector<DeepSpeedFormulaRow> deepspeed_formula_table(const DeepSpeedFormulaInput& in);

/// The *_all_live inputs for a model: total and largest module from count_params.
DeepSpeedFormulaInput deepspeed_formula_input(const ModelSpec& model, int gpus_per_node, int nodes,
                                              double additional_buffer_factor = 1.5);

}  // namespace ds::estimators
