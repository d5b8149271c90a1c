#include "autotune/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.hpp"
#include "common/suggest.hpp"

namespace ds::autotune {
namespace {

using estimators::Checkpointing;
using estimators::DType;
using estimators::OffloadDevice;
using estimators::Plan;
using profiles::DeviceKind;

constexpr const char* kTermNames[kCostTermCount] = {"compute",   "attention", "recompute",     "dp_comm",
                                                    "tp_comm",   "pp_comm",   "sp_comm",       "offload",
                                                    "optimizer", "cpu_optimizer", "bubble",  "overhead"};

double& at(std::array<double, kCostTermCount>& a, CostTerm t) { return a[static_cast<int>(t)]; }

// Seconds to move `bytes` at `rate`; records the rate as missing when bytes must move and the
// cluster does not know how fast.
double transfer_s(double bytes, double rate, const char* rate_name, std::string& missing) {
  if (bytes <= 0) return 0;
  if (rate <= 0) {
    if (missing.empty()) missing = rate_name;
    return 0;
  }
  return bytes / rate;
}

// Optimizer states per parameter (fp32 each): Adam/AdamW m and v, SGD momentum.
int optimizer_states(const Plan& p) {
  if (p.optimizer == estimators::OptimizerKind::kSgd) return p.sgd_momentum ? 1 : 0;
  return 2;
}

}  // namespace

std::string_view cost_term_name(CostTerm term) { return kTermNames[static_cast<int>(term)]; }

CostTerm parse_cost_term(std::string_view name, const std::string& what) {
  std::vector<std::string> names;
  for (int i = 0; i < kCostTermCount; ++i) {
    if (name == kTermNames[i]) return static_cast<CostTerm>(i);
    names.push_back(kTermNames[i]);
  }
  std::string listed;
  for (const auto& n : names) listed += (listed.empty() ? "" : ", ") + n;
  throw UsageError(format_error(what, "unknown cost term", "'" + std::string(name) + "'", "one of " + listed) +
                   did_you_mean(std::string(name), names));
}

CostTerm CostEstimate::dominant() const {
  return static_cast<CostTerm>(std::max_element(term_s.begin(), term_s.end()) - term_s.begin());
}

CostModel::CostModel(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, CostModelOptions options)
    : model_(model),
      count_(estimators::count_params(model)),
      flops_at_seq1_(estimators::training_flops(model_, count_, 1)),
      cluster_(cluster),
      options_(options) {
  const auto& g = cluster_.rates.gemm_flops_per_s;
  if (g.fp32 <= 0 && g.fp16 <= 0 && g.bf16 <= 0) {
    throw UsageError(format_error(cluster_.source.empty() ? "cluster" : cluster_.source, "no GEMM rate to price plans with",
                                  "0 FLOP/s for fp32, fp16 and bf16", "a measured or preset GEMM rate",
                                  "run `ds profile` or plan with --gpu <preset>"));
  }
}

double CostModel::peak_flops_per_s(DType dtype) const {
  const auto& g = cluster_.rates.gemm_flops_per_s;
  double rate = dtype == DType::kFp32 ? g.fp32 : dtype == DType::kFp16 ? g.fp16 : g.bf16;
  // No rate for the dtype (a CPU without fp16 GEMM): the nearest one it has.
  for (double fallback : {g.bf16, g.fp16, g.fp32}) {
    if (rate <= 0) rate = fallback;
  }
  // On a CPU run the ranks of a node share its cores: each gets its share of the node's rate.
  if (cluster_.device == DeviceKind::kCpu) rate /= std::max(1, cluster_.gpus_per_node);
  return rate;
}

double CostModel::gemm_flops_per_s(DType dtype) const {
  return peak_flops_per_s(dtype) * (cluster_.is_preset ? options_.preset_gemm_efficiency : 1.0);
}

double CostModel::flops_per_token(std::int64_t seq_len, double* attention) const {
  // training_flops at seq_len 1, scaled: the attention term is linear in the sequence length.
  *attention = flops_at_seq1_.attention_per_token * static_cast<double>(seq_len);
  return flops_at_seq1_.dense_per_token;
}

// dp_comm, tp_comm and pp_comm (raw). `backward_s` is the backward compute of the whole step,
// the window ZeRO's gradient reduction can hide behind.
void CostModel::communication(const Plan& p, double backward_s, CostEstimate& e) const {
  const double link_eff = cluster_.is_preset ? options_.preset_link_efficiency : 1.0;
  const double intra = cluster_.rates.intra_node_bus_bytes_per_s * link_eff;
  const double inter = cluster_.rates.inter_node_bus_bytes_per_s * link_eff;
  const int node = cluster_.gpus_per_node;
  const double alpha = options_.collective_latency_s;
  const double m = static_cast<double>(p.grad_accum);
  const double pb = estimators::dtype_bytes(p.dtype);
  const double gb = p.fp32_grad_accumulation_enabled() ? 4.0 : pb;

  // Data parallel: ranks tp apart (Megatron order tp, dp, pp), so the group leaves the node when
  // tp * dp exceeds it.
  const int n = p.zero_partitions();
  if (n > 1) {
    const double bw = p.tp * n > node ? inter : intra;
    const double shard = static_cast<double>(estimators::params_per_rank(count_, model_.layers, p.tp, p.pp));
    const double ring = (n - 1.0) / n;  // bus factor of reduce-scatter / all-gather (nccl-tests PERFORMANCE.md)
    const double bucket = static_cast<double>(p.reduce_bucket_size);
    const double calls = std::ceil(shard / bucket);
    double hideable = 0, exposed = 0, window = 0, latency = 0;
    switch (p.zero_stage) {
      case 0:  // all-reduce of the gradients after the last backward (2 ring passes)
        exposed = 2 * ring * shard * gb;
        latency = calls;
        break;
      case 1:  // gradients reduced once per step (behind the last backward), parameters all-gathered after the step
        hideable = ring * shard * gb;
        exposed = ring * shard * pb;
        window = backward_s / m;
        latency = 2 * calls;
        break;
      case 2:  // reduce-scatter after every micro-batch's backward; all-gather after the step
        hideable = m * ring * shard * gb;
        exposed = ring * shard * pb;
        window = backward_s;
        latency = (m + 1) * calls;
        break;
      default:  // stage 3: all-gather for forward and backward and reduce-scatter, every micro-batch
        hideable = m * ring * shard * (2 * pb + gb);
        window = backward_s * 1.5;  // forward + backward compute
        latency = 3 * m * std::ceil(shard / static_cast<double>(p.stage3_prefetch_bucket_size));
        break;
    }
    double comm_s = transfer_s(hideable + exposed, bw, n * p.tp > node ? "inter_node_bus_bytes_per_s"
                                                                       : "intra_node_bus_bytes_per_s",
                               e.missing_rate);
    double hideable_s = hideable + exposed > 0 ? comm_s * hideable / (hideable + exposed) : 0;
    double exposed_s = comm_s - hideable_s;
    if (p.overlap_comm_enabled() && hideable_s > 0) {
      // What overlaps is hidden up to the compute beside it; the last bucket always waits.
      const double last_bucket_s = bw > 0 ? std::min(hideable, bucket * gb) / bw : 0;
      hideable_s = std::max(hideable_s - window, 0.0) + std::min(last_bucket_s, hideable_s);
    }
    at(e.raw_s, CostTerm::kDpComm) = exposed_s + hideable_s + latency * alpha;
  }

  const double activation_bytes = static_cast<double>(p.micro_batch * p.seq_len * model_.hidden) * pb;
  const double layers_per_stage = static_cast<double>(model_.layers) / p.pp;
  if (p.tp > 1) {
    // Megatron-LM (Shoeybi et al. 2019): 2 all-reduces forward and 2 backward per layer; full
    // recompute repeats the forward's 2.
    const double per_layer = p.checkpointing == Checkpointing::kFull ? 6.0 : 4.0;
    const double calls = m * layers_per_stage * per_layer;
    const double bytes = calls * 2.0 * (p.tp - 1.0) / p.tp * activation_bytes;
    at(e.raw_s, CostTerm::kTpComm) =
        transfer_s(bytes, intra, "intra_node_bus_bytes_per_s", e.missing_rate) + calls * alpha;
  }
  if (p.sp > 1) {
    // DeepSpeed-Ulysses (Jacobs et al. 2023): per layer, all-to-alls of q, k and v before the
    // attention and of its output after it, forward and again backward (and once more forward
    // under full recompute). Each rank holds b s/sp tokens; an all-to-all sends (sp-1)/sp of
    // them; k and v carry kv_heads of the heads.
    const double qkvo = 2.0 + 2.0 * static_cast<double>(model_.kv_heads) / model_.heads;
    const double passes = p.checkpointing == Checkpointing::kFull ? 3.0 : 2.0;
    const double calls = m * layers_per_stage * 4.0 * passes;
    const double bytes = m * layers_per_stage * passes * qkvo * (p.sp - 1.0) / p.sp * activation_bytes / (p.tp * p.sp);
    at(e.raw_s, CostTerm::kSpComm) = transfer_s(bytes, intra, "intra_node_bus_bytes_per_s", e.missing_rate) + calls * alpha;
  }
  if (p.pp > 1) {
    // One activation forward and one gradient backward across each stage boundary per micro-batch.
    const bool crosses = p.world() > node;
    const double bytes = 2.0 * m * activation_bytes;
    at(e.raw_s, CostTerm::kPpComm) =
        transfer_s(bytes, crosses ? inter : intra, crosses ? "inter_node_bus_bytes_per_s" : "intra_node_bus_bytes_per_s",
                   e.missing_rate) +
        2.0 * m * alpha;
  }
}

// offload and optimizer (raw).
void CostModel::offload_and_optimizer(const Plan& p, CostEstimate& e) const {
  const auto& r = cluster_.rates;
  const bool cpu_device = cluster_.device == DeviceKind::kCpu;
  const int ranks = std::max(1, cluster_.gpus_per_node);
  const double m = static_cast<double>(p.grad_accum);
  const double pb = estimators::dtype_bytes(p.dtype);
  const double gb = p.fp32_grad_accumulation_enabled() ? 4.0 : pb;
  const double shard = static_cast<double>(estimators::params_per_rank(count_, model_.layers, p.tp, p.pp));
  const double part = p.zero_stage >= 1 ? shard / p.zero_partitions() : shard;
  const double link_eff = cluster_.is_preset ? options_.preset_link_efficiency : 1.0;
  // A CPU run's "device" is the host: an offload copy is a memcpy at memory bandwidth, shared by its ranks.
  const double h2d = cpu_device ? r.hbm_bytes_per_s / ranks : r.pcie_h2d_bytes_per_s * link_eff;
  const double d2h = cpu_device ? r.hbm_bytes_per_s / ranks : r.pcie_d2h_bytes_per_s * link_eff;
  const char* h2d_name = cpu_device ? "hbm_bytes_per_s" : "pcie_h2d_bytes_per_s";
  const char* d2h_name = cpu_device ? "hbm_bytes_per_s" : "pcie_d2h_bytes_per_s";
  // NVMe bandwidth is per node: the ranks of a node share it.
  const double disk_read = r.disk_read_bytes_per_s / ranks;
  const double disk_write = r.disk_write_bytes_per_s / ranks;
  const int states = optimizer_states(p);
  std::string& missing = e.missing_rate;

  double offload = 0;
  const bool opt_off = p.offload_optimizer != OffloadDevice::kNone;
  if (opt_off) {
    // ZeRO-Offload (Ren et al. 2021): gradients of the partition down, updated parameters up.
    offload += transfer_s(part * gb, d2h, d2h_name, missing);
    if (p.offload_param == OffloadDevice::kNone) offload += transfer_s(part * pb, h2d, h2d_name, missing);
  }
  if (p.offload_optimizer == OffloadDevice::kNvme) {
    // ZeRO-Infinity: fp32 master weights and optimizer states read and written once per step.
    const double bytes = part * 4.0 * (1 + states);
    offload += transfer_s(bytes, disk_read, "disk_read_bytes_per_s", missing) +
               transfer_s(bytes, disk_write, "disk_write_bytes_per_s", missing);
  }
  if (p.offload_param != OffloadDevice::kNone) {
    // Stage 3 fetches its parameter partition from the host for forward and for backward.
    offload += transfer_s(2 * m * part * pb, h2d, h2d_name, missing);
    if (p.offload_param == OffloadDevice::kNvme) {
      offload += transfer_s(2 * m * part * pb, disk_read, "disk_read_bytes_per_s", missing) +
                 transfer_s(part * pb, disk_write, "disk_write_bytes_per_s", missing);
    }
  }
  at(e.raw_s, CostTerm::kOffload) = offload;

  if (opt_off) {
    at(e.raw_s, CostTerm::kCpuOptimizer) =
        transfer_s(part, r.cpu_adam_params_per_s / ranks, "cpu_adam_params_per_s", missing);
  } else {
    // A fused optimizer is memory-bound: read master, states and gradient, write master, states
    // and the working copy (mixed precision), each element once.
    const bool mixed = p.dtype != DType::kFp32;
    const double bytes_per_param = 8.0 * (1 + states) + 4.0 + (mixed ? pb : 0.0);
    const double hbm = cpu_device ? r.hbm_bytes_per_s / ranks : r.hbm_bytes_per_s;
    at(e.raw_s, CostTerm::kOptimizer) = transfer_s(part * bytes_per_param, hbm, "hbm_bytes_per_s", missing);
  }
}

CostEstimate CostModel::estimate(const Plan& p) const {
  CostEstimate e;
  const double m = static_cast<double>(p.grad_accum);
  const double tokens_per_rank = static_cast<double>(p.micro_batch * p.seq_len) * m;  // per model replica
  double attention_per_token = 0;
  const double dense_per_token = flops_per_token(p.seq_len, &attention_per_token);
  // Each rank does 1/(tp pp sp) of a replica's work (Ulysses: a slice of the sequence, then a
  // share of the heads).
  const double shards = static_cast<double>(p.tp) * p.pp * p.sp;
  const double gemm = gemm_flops_per_s(p.dtype);
  const double attn_eff = cluster_.is_preset ? options_.preset_attention_efficiency / options_.preset_gemm_efficiency : 1.0;
  at(e.raw_s, CostTerm::kCompute) = tokens_per_rank * dense_per_token / shards / gemm;
  at(e.raw_s, CostTerm::kAttention) = tokens_per_rank * attention_per_token / shards / (gemm * attn_eff);
  const double fwd_bwd = at(e.raw_s, CostTerm::kCompute) + at(e.raw_s, CostTerm::kAttention);
  // Forward is 1/3 of forward + backward (2 FLOPs per MAC forward, 4 backward). Full recompute
  // runs each block's forward again; selective only the attention core (Korthikanti et al. 2022).
  if (p.checkpointing == Checkpointing::kFull) at(e.raw_s, CostTerm::kRecompute) = fwd_bwd / 3.0;
  if (p.checkpointing == Checkpointing::kSelective) at(e.raw_s, CostTerm::kRecompute) = at(e.raw_s, CostTerm::kAttention) / 3.0;

  communication(p, fwd_bwd * 2.0 / 3.0, e);
  offload_and_optimizer(p, e);
  if (p.pp > 1) {
    // GPipe / 1F1B: (pp-1) idle micro-batch slots on m + pp - 1, i.e. (pp-1)/m of the pipelined work.
    const double pipelined = fwd_bwd + at(e.raw_s, CostTerm::kRecompute) + at(e.raw_s, CostTerm::kTpComm) +
                             at(e.raw_s, CostTerm::kPpComm);
    at(e.raw_s, CostTerm::kBubble) = pipelined * (p.pp - 1.0) / m;
  }
  at(e.raw_s, CostTerm::kOverhead) = m * options_.overhead_per_micro_batch_s;

  for (int i = 0; i < kCostTermCount; ++i) {
    e.term_s[i] = e.raw_s[i] * options_.coefficients.scale[i];
    e.step_time_s += e.term_s[i];
  }
  e.tokens_per_step = tokens_per_rank * p.dp;
  e.tokens_per_s = e.step_time_s > 0 ? e.tokens_per_step / e.step_time_s : 0;
  e.mfu = estimators::model_flops_utilization(e.tokens_per_s, dense_per_token + attention_per_token,
                                              peak_flops_per_s(p.dtype) * p.world());
  return e;
}

}  // namespace ds::autotune
