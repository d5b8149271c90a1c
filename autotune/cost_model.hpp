#pragma once
// The cost model of `ds tune`: the step time of one Plan on one cluster, term by term, from the
// model's FLOPs and byte counts and the cluster's rates (docs/tuning.md derives each term).
//
//   step = compute + attention + recompute + dp_comm + tp_comm + pp_comm + offload + optimizer
//          + cpu_optimizer + bubble + overhead
//
// Every term is a raw time (seconds, from counts and rates) times a per-term coefficient; the
// coefficients default to 1 and are fitted from measured trials (autotune/calibration.hpp), so a
// step time is linear in them.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "estimators/flops.hpp"
#include "estimators/model_spec.hpp"
#include "estimators/param_count.hpp"
#include "estimators/plan.hpp"
#include "profiles/cluster_spec.hpp"

namespace ds::autotune {

/// The terms of a step, in report order.
enum class CostTerm {
  kCompute,    ///< "compute": 6 N tokens of dense GEMM FLOPs at the GEMM rate
  kAttention,  ///< "attention": 12 L H T tokens of score/value FLOPs
  kRecompute,  ///< "recompute": the forward again under activation checkpointing
  kDpComm,     ///< "dp_comm": ZeRO/data-parallel all-reduce, reduce-scatter, all-gather, exposed part
  kTpComm,     ///< "tp_comm": Megatron's tensor-parallel activation all-reduces
  kPpComm,     ///< "pp_comm": pipeline point-to-point sends of activations and gradients
  kSpComm,     ///< "sp_comm": DeepSpeed-Ulysses all-to-alls of q, k, v and the attention output
  kOffload,    ///< "offload": host<->device copies and NVMe reads/writes of offloaded state
  kOptimizer,  ///< "optimizer": the optimizer step on the device
  kCpuOptimizer,  ///< "cpu_optimizer": the optimizer step of offloaded states (DeepSpeed's CPU Adam)
  kBubble,     ///< "bubble": pipeline fill and drain, (pp-1)/(m+pp-1) of the pipelined work
  kOverhead,   ///< "overhead": fixed cost per micro-batch (kernel launches, Python-free loop, hooks)
};
inline constexpr int kCostTermCount = 12;

std::string_view cost_term_name(CostTerm term);
/// Parses a name of cost_term_name; throws UsageError naming `what` otherwise.
CostTerm parse_cost_term(std::string_view name, const std::string& what);

/// Per-term multipliers on the raw times (1 = the model as derived; 2 = this term takes twice as
/// long on this machine). Fitted by calibration.
struct CostCoefficients {
  std::array<double, kCostTermCount> scale = ones();
  double& operator[](CostTerm t) { return scale[static_cast<int>(t)]; }
  double operator[](CostTerm t) const { return scale[static_cast<int>(t)]; }

 private:
  // Every term, however many there are, starts at its derived value.
  static constexpr std::array<double, kCostTermCount> ones() {
    std::array<double, kCostTermCount> a{};
    a.fill(1.0);
    return a;
  }
};

/// The predicted step of one plan.
struct CostEstimate {
  std::array<double, kCostTermCount> raw_s{};   ///< each term before its coefficient, seconds
  std::array<double, kCostTermCount> term_s{};  ///< each term after its coefficient, seconds
  double step_time_s = 0;        ///< sum of term_s
  double tokens_per_step = 0;    ///< whole job: micro_batch * grad_accum * dp * seq_len
  double tokens_per_s = 0;       ///< whole job
  double mfu = 0;                ///< model FLOPs utilisation against the cluster's peak, 0..1
  std::string missing_rate;      ///< a rate the plan needs that the cluster lacks; empty when priced

  double term(CostTerm t) const { return term_s[static_cast<int>(t)]; }
  /// The largest term.
  CostTerm dominant() const;
};

/// Knobs of the cost model; defaults documented in docs/tuning.md.
struct CostModelOptions {
  CostCoefficients coefficients;
  /// Fractions of datasheet peaks reached in practice, applied only to preset (not measured)
  /// rates: large BF16 GEMMs reach ~70% of peak; attention kernels ~50%; NCCL bus bandwidth ~80%.
  double preset_gemm_efficiency = 0.7;
  double preset_attention_efficiency = 0.5;
  double preset_link_efficiency = 0.8;
  double collective_latency_s = 20e-6;  ///< per collective call (one bucket), NCCL ring latency order
  double overhead_per_micro_batch_s = 1e-3;  ///< fixed cost of one forward+backward pass
};

/// Prices plans for one model on one cluster; construct once, call estimate() per plan.
class CostModel {
 public:
  /// Throws UsageError when the cluster has no GEMM rate for any dtype (nothing to price with).
  CostModel(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, CostModelOptions options = {});

  /// performance-critical: the tuner calls this for every feasible plan.
  CostEstimate estimate(const estimators::Plan& plan) const;

  const CostModelOptions& options() const { return options_; }
  void set_coefficients(const CostCoefficients& c) { options_.coefficients = c; }
  /// Peak FLOP/s of one device at `dtype` as the model uses it (after the preset efficiency).
  double gemm_flops_per_s(estimators::DType dtype) const;
  /// FLOP/s that MFU is measured against: the cluster's rate for the dtype, before any derating.
  double peak_flops_per_s(estimators::DType dtype) const;

 private:
  double flops_per_token(std::int64_t seq_len, double* attention) const;
  void communication(const estimators::Plan& plan, double backward_s, CostEstimate& e) const;
  void offload_and_optimizer(const estimators::Plan& plan, CostEstimate& e) const;

  estimators::ModelSpec model_;
  estimators::ParamCount count_;
  estimators::TrainingFlops flops_at_seq1_;
  profiles::ClusterSpec cluster_;
  CostModelOptions options_;
};

}  // namespace ds::autotune
