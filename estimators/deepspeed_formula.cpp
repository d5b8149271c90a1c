#include "estimators/deepspeed_formula.hpp"

#include <cmath>

#include "estimators/param_count.hpp"

namespace ds::estimators {
namespace {

// Python's int() on a float: truncation toward zero.
std::int64_t py_int(double x) { return static_cast<std::int64_t>(std::trunc(x)); }

// Python's `total_params * max(int_factor, float_factor) * additional_buffer_factor`: max()
// returns the int when it is not smaller, and int * int stays exact before the float multiply.
double times_max(std::int64_t total, std::int64_t int_factor, double float_factor, double buffer_factor) {
  if (static_cast<double>(int_factor) >= float_factor) {
    return static_cast<double>(total * int_factor) * buffer_factor;
  }
  return static_cast<double>(total) * float_factor * buffer_factor;
}

}  // namespace

DeepSpeedFormulaRow zero2_model_states_mem_needs(const DeepSpeedFormulaInput& in, bool cpu_offload) {
  const std::int64_t total_gpus = static_cast<std::int64_t>(in.nodes) * in.gpus_per_node;
  const std::int64_t p = in.total_params;
  DeepSpeedFormulaRow row;
  row.stage = 2;
  row.offload_optimizer = cpu_offload;
  if (cpu_offload) {
    row.gpu_bytes = 2 * p;
    row.cpu_bytes = py_int(times_max(p, 4 * total_gpus, 16, in.additional_buffer_factor));
  } else {
    row.gpu_bytes = 4 * p + py_int(static_cast<double>(16 * p) / static_cast<double>(total_gpus));
    row.cpu_bytes = py_int(static_cast<double>(p * 4 * in.gpus_per_node) * in.additional_buffer_factor);
  }
  return row;
}

DeepSpeedFormulaRow zero3_model_states_mem_needs(const DeepSpeedFormulaInput& in, bool cpu_offload,
                                                 bool cpu_offload_params, bool zero_init) {
  const std::int64_t total_gpus = static_cast<std::int64_t>(in.nodes) * in.gpus_per_node;
  const double gpus_factor = 1.0 / in.nodes;
  const std::int64_t p = in.total_params;
  const std::int64_t largest_layer_memory = 4 * in.largest_layer_params;
  const double abf = in.additional_buffer_factor;
  DeepSpeedFormulaRow row;
  row.stage = 3;
  row.offload_optimizer = cpu_offload;
  row.offload_param = cpu_offload_params;
  row.zero_init = zero_init;
  if (cpu_offload) {
    // 18 = 2 (fp16 params) + 16 (fp32 params, m, v, grads) bytes per parameter on the CPU; 16
    // when the fp16 params stay on the GPU.
    const std::int64_t per_param = cpu_offload_params ? 18 : 16;
    row.gpu_bytes = cpu_offload_params
                        ? largest_layer_memory
                        : largest_layer_memory + py_int(static_cast<double>(2 * p) / static_cast<double>(total_gpus));
    row.cpu_bytes = zero_init ? py_int(static_cast<double>(p * per_param) * gpus_factor * abf)
                              : py_int(times_max(p, 4 * in.gpus_per_node, per_param * gpus_factor, abf));
  } else {
    row.gpu_bytes = largest_layer_memory + py_int(static_cast<double>(18 * p) / static_cast<double>(total_gpus));
    row.cpu_bytes = zero_init ? py_int(static_cast<double>(in.largest_layer_params * 4 * in.gpus_per_node) * abf)
                              : py_int(static_cast<double>(p * 4 * in.gpus_per_node) * abf);
  }
  return row;
}

std::vector<DeepSpeedFormulaRow> deepspeed_formula_table(const DeepSpeedFormulaInput& in) {
  std::vector<DeepSpeedFormulaRow> rows = {zero2_model_states_mem_needs(in, true),
                                           zero2_model_states_mem_needs(in, false)};
  // DeepSpeed's loop: cpu_offload in [True, False], cpu_offload_params in [True, False] (skipped
  // without cpu_offload), zero_init in [True, False].
  for (bool offload : {true, false}) {
    for (bool offload_params : {true, false}) {
      if (!offload && offload_params) continue;
      for (bool zero_init : {true, false}) {
        rows.push_back(zero3_model_states_mem_needs(in, offload, offload_params, zero_init));
      }
    }
  }
  return rows;
}

DeepSpeedFormulaInput deepspeed_formula_input(const ModelSpec& model, int gpus_per_node, int nodes,
                                              double additional_buffer_factor) {
  ParamCount count = count_params(model);
  DeepSpeedFormulaInput in;
  in.total_params = count.total;
  in.largest_layer_params = count.largest_module;
  in.gpus_per_node = gpus_per_node;
  in.nodes = nodes;
  in.additional_buffer_factor = additional_buffer_factor;
  return in;
}

}  // namespace ds::estimators
