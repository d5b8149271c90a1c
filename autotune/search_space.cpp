#include "autotune/search_space.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ds::autotune {
namespace {

using estimators::Checkpointing;
using estimators::OffloadDevice;
using estimators::Plan;

template <typename T>
void require_nonempty(const std::vector<T>& values, const char* flag) {
  if (values.empty()) throw UsageError(format_error(flag, "no values to search", "an empty list", "at least one value"));
}

void require_positive(const std::vector<std::int64_t>& values, const char* flag) {
  require_nonempty(values, flag);
  for (auto v : values) {
    if (v < 1) throw UsageError(format_error(flag, "out of range", std::to_string(v), "integers >= 1"));
  }
}

void check_options(const SearchSpaceOptions& o) {
  require_nonempty(o.stages, "--stages");
  for (int s : o.stages) {
    if (s < 0 || s > 3) throw UsageError(format_error("--stages", "not a ZeRO stage", std::to_string(s), "0, 1, 2 or 3"));
  }
  require_nonempty(o.offload_optimizer, "--offload-optimizer");
  require_nonempty(o.offload_param, "--offload-param");
  require_positive(o.micro_batches, "--micro-batch");
  if (o.global_batch < 0) {
    throw UsageError(format_error("--global-batch", "out of range", std::to_string(o.global_batch), "an integer >= 1"));
  }
  if (o.global_batch == 0) require_positive(o.grad_accums, "--grad-accum");
  require_nonempty(o.checkpointing, "--checkpointing");
  require_nonempty(o.dtypes, "--dtype");
  require_positive(o.bucket_sizes, "--bucket-sizes");
  if (o.seq_len < 1) throw UsageError(format_error("--seq", "out of range", std::to_string(o.seq_len), "an integer >= 1"));
}

// DeepSpeed's rules for where each stage may offload (zero/config.py, stage_1_and_2.py).
bool offload_allowed(int stage, OffloadDevice optimizer, OffloadDevice param) {
  if (param != OffloadDevice::kNone && stage < 3) return false;
  if (optimizer == OffloadDevice::kCpu && stage == 0) return false;
  if (optimizer == OffloadDevice::kNvme && stage < 3) return false;
  return true;
}

std::int64_t grad_accum_choices(const SearchSpaceOptions& o) {
  return o.global_batch > 0 ? 1 : static_cast<std::int64_t>(o.grad_accums.size());
}

}  // namespace

std::vector<Layout> parallel_layouts(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                                     int max_tp, int max_pp, int max_sp, std::int64_t seq_len) {
  const int world = cluster.world_size();
  const int node = cluster.gpus_per_node;
  std::vector<Layout> out;
  for (int tp = 1; tp <= node; ++tp) {
    if (node % tp != 0 || (max_tp > 0 && tp > max_tp)) continue;
    if (model.heads % tp != 0 || model.kv_heads % tp != 0 || model.ffn % tp != 0) continue;
    if (world % tp != 0) continue;
    for (int sp = 1; tp * sp <= node; ++sp) {
      if (sp > 1 && (max_sp == 1 || (max_sp > 1 && sp > max_sp))) break;
      if (node % (tp * sp) != 0 || world % (tp * sp) != 0) continue;
      if (model.heads % (tp * sp) != 0 || model.kv_heads % (tp * sp) != 0) continue;
      if (seq_len > 0 && seq_len % sp != 0) continue;
      const int rest = world / (tp * sp);
      for (int pp = 1; pp <= rest; ++pp) {
        if (rest % pp != 0 || (max_pp > 0 && pp > max_pp)) continue;
        if (model.layers % pp != 0 || (sp > 1 && pp > 1)) continue;
        out.push_back({rest / pp, tp, pp, sp});
      }
    }
  }
  return out;
}

SearchSpace::SearchSpace(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster,
                         SearchSpaceOptions options)
    : options_(std::move(options)) {
  check_options(options_);
  layouts_ = parallel_layouts(model, cluster, options_.max_tp, options_.max_pp, options_.max_sp, options_.seq_len);
  if (layouts_.empty()) {
    throw UsageError(format_error("--model", "no dp x tp x pp layout fits the model on this cluster",
                                  std::to_string(model.heads) + " heads, " + std::to_string(model.kv_heads) +
                                      " kv-heads, " + std::to_string(model.layers) + " layers on " +
                                      std::to_string(cluster.world_size()) + " ranks",
                                  "tp dividing heads, kv-heads and the GPUs per node; pp dividing the layers",
                                  "raise --max-tp/--max-pp or change the GPU count"));
  }
  base_.optimizer = options_.optimizer;
  base_.seq_len = options_.seq_len;
  base_.fused_attention = options_.fused_attention;
  base_.engine = options_.engine;
}

std::int64_t SearchSpace::raw_size() const {
  const auto& o = options_;
  return static_cast<std::int64_t>(layouts_.size()) * static_cast<std::int64_t>(o.stages.size()) *
         static_cast<std::int64_t>(o.offload_optimizer.size()) * static_cast<std::int64_t>(o.offload_param.size()) *
         static_cast<std::int64_t>(o.dtypes.size()) * static_cast<std::int64_t>(o.checkpointing.size()) *
         static_cast<std::int64_t>(o.micro_batches.size()) * grad_accum_choices(o) *
         static_cast<std::int64_t>(o.bucket_sizes.size());
}

void SearchSpace::for_each(const std::function<void(const Plan&)>& visit, SkipCounts* skipped) const {
  const auto& o = options_;
  SkipCounts local;
  SkipCounts& skip = skipped ? *skipped : local;
  // Combinations below a rejected level are counted all at once, so the counts add up to raw_size().
  const std::int64_t per_ckpt =
      static_cast<std::int64_t>(o.micro_batches.size() * o.bucket_sizes.size()) * grad_accum_choices(o);
  const std::int64_t per_zero = static_cast<std::int64_t>(o.dtypes.size() * o.checkpointing.size()) * per_ckpt;
  Plan p = base_;
  for (const Layout& layout : layouts_) {
    p.dp = layout.dp;
    p.tp = layout.tp;
    p.pp = layout.pp;
    p.sp = layout.sp;
    for (int stage : o.stages) {
      p.zero_stage = stage;
      // ZeRO-1..3 overlap their reduce with backward when asked; stage 0's all-reduce runs after it.
      p.overlap_comm = stage > 0;
      for (OffloadDevice opt : o.offload_optimizer) {
        for (OffloadDevice param : o.offload_param) {
          if (!offload_allowed(stage, opt, param)) {
            skip.zero_offload += per_zero;
            continue;
          }
          if (layout.pp > 1 && stage >= 2) {
            skip.pipeline_zero += per_zero;
            continue;
          }
          p.offload_optimizer = opt;
          p.offload_param = param;
          for (auto dtype : o.dtypes) {
            p.dtype = dtype;
            // Where the engine recomputes every block, the first checkpointing value stands for
            // all of them, as full.
            const bool recomputes = p.ds_recomputes_every_block();
            for (std::size_t c = 0; c < o.checkpointing.size(); ++c) {
              if (recomputes && c > 0) {
                skip.engine_recompute += per_ckpt;
                continue;
              }
              p.checkpointing = recomputes ? Checkpointing::kFull : o.checkpointing[c];
              for (auto mb : o.micro_batches) {
                p.micro_batch = mb;
                for (std::int64_t g = 0; g < grad_accum_choices(o); ++g) {
                  if (o.global_batch > 0) {
                    const std::int64_t per_pass = mb * layout.dp;
                    if (o.global_batch % per_pass != 0) {
                      skip.global_batch += static_cast<std::int64_t>(o.bucket_sizes.size());
                      continue;
                    }
                    p.grad_accum = o.global_batch / per_pass;
                  } else {
                    p.grad_accum = o.grad_accums[static_cast<std::size_t>(g)];
                  }
                  for (auto bucket : o.bucket_sizes) {
                    p.reduce_bucket_size = bucket;
                    p.allgather_bucket_size = bucket;
                    p.stage3_prefetch_bucket_size = std::max<std::int64_t>(1, bucket / 10);
                    visit(p);
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

std::int64_t SearchSpace::count(SkipCounts* skipped) const {
  std::int64_t n = 0;
  for_each([&](const Plan&) { ++n; }, skipped);
  return n;
}

}  // namespace ds::autotune
