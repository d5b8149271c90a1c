// Python bindings of the estimators: exact parameter counts and the memory estimate, returning
// the same dictionaries `ds estimate ... --json` prints. Errors raise RuntimeError with ds's
// message (ds::Error derives from std::runtime_error).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "estimators/estimate_json.hpp"
#include "estimators/estimate_options.hpp"

namespace py = pybind11;

namespace ds::python {
namespace {

using namespace ds::estimators;

// nlohmann::json -> Python objects through the json module: one conversion path, no hand-written caster.
py::object to_python(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

py::object params(const std::string& model) {
  ModelOptions options;
  options.model = model;
  ModelSpec spec = resolve_model(options);
  return to_python(params_json(spec, count_params(spec)));
}

py::object memory(const std::string& model, const ClusterOptions& cluster_options, std::optional<int> stage,
                  PlanOptions plan_options) {
  ModelOptions model_options;
  model_options.model = model;
  ModelSpec spec = resolve_model(model_options);
  profiles::ClusterSpec cluster = resolve_cluster(cluster_options);
  plan_options.stage = stage.value_or(0);
  Plan plan = resolve_plan(plan_options, spec, cluster);
  if (!stage) return to_python(table_json(spec, cluster, plan, estimate_table(spec, cluster, plan)));
  MemoryEstimate est = estimate_memory(spec, cluster, plan);
  return to_python(breakdown_json(spec, cluster, plan, est, check_fit(est, cluster),
                                  largest_micro_batch(spec, count_params(spec), cluster, plan)));
}

}  // namespace

void bind_estimate(py::module_& m) {
  m.def("count_params", &params, py::arg("model"),
        "Exact parameter count of a preset or config.json with a per-module breakdown (dict).");
  m.def(
      "estimate_memory",
      [](const std::string& model, const std::string& gpu, int gpus_per_node, int nodes, std::optional<int> stage,
         const std::string& offload_optimizer, const std::string& offload_param, const std::string& dtype,
         const std::string& optimizer, std::int64_t micro_batch, std::int64_t seq_len, const std::string& checkpointing,
         int dp, int tp, int pp, bool fused_attention) {
        ClusterOptions cluster{gpu, nodes, gpus_per_node, "", "", ""};
        PlanOptions plan;
        plan.offload_optimizer = offload_optimizer;
        plan.offload_param = offload_param;
        plan.dtype = dtype;
        plan.optimizer = optimizer;
        plan.micro_batch = micro_batch;
        plan.seq_len = seq_len;
        plan.checkpointing = checkpointing;
        plan.dp = dp;
        plan.tp = tp;
        plan.pp = pp;
        plan.fused_attention = fused_attention;
        return memory(model, cluster, stage, plan);
      },
      py::arg("model"), py::arg("gpu") = "h100-80g", py::arg("gpus_per_node") = 0, py::arg("nodes") = 0,
      py::arg("stage") = py::none(), py::arg("offload_optimizer") = "none", py::arg("offload_param") = "none",
      py::arg("dtype") = "bf16", py::arg("optimizer") = "adamw", py::arg("micro_batch") = 1, py::arg("seq_len") = 0,
      py::arg("checkpointing") = "none", py::arg("dp") = 0, py::arg("tp") = 1, py::arg("pp") = 1,
      py::arg("fused_attention") = true,
      "Peak memory: the ZeRO stage x offload table (stage=None) or one plan's breakdown (dict, as --json).");
}

}  // namespace ds::python
