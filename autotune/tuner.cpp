#include "autotune/tuner.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <tuple>
#include <unordered_map>

#include "common/error.hpp"
#include "common/suggest.hpp"

namespace ds::autotune {
namespace {

using estimators::Plan;

constexpr const char* kObjectiveNames[] = {"throughput", "memory", "cost"};

std::string pruned_summary(const TuneResult& r) {
  std::string out;
  for (const auto& [reason, n] : r.pruned) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + reason;
  return out.empty() ? "none" : out;
}

// The memory estimate reads grad_accum only as the pipeline's micro-batches in flight,
// min(pp, grad_accum) when pp > 1 (estimators/activation_memory.cpp; a test holds this), so plans
// that differ in nothing else share one estimate. Most of the estimator's time is its item
// descriptions, so this memo is the difference between 10^5 plans in 0.5 s and in 0.1 s.
class MemoryMemo {
 public:
  MemoryMemo(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, double device_scale)
      : model_(model), cluster_(cluster), count_(estimators::count_params(model)), device_scale_(device_scale) {}

  struct Entry {
    double device = 0, cpu = 0, nvme = 0;
    estimators::FitCheck fit;
  };

  const Entry& get(const Plan& plan) {
    Plan key_plan = plan;
    key_plan.grad_accum = memory_grad_accum(plan);
    auto [it, inserted] = memo_.try_emplace(key(key_plan));
    if (inserted) {
      auto mem = estimators::estimate_memory(model_, count_, cluster_, key_plan);
      mem.device_peak_bytes *= device_scale_;
      it->second = {mem.device_peak_bytes, mem.cpu_peak_bytes_per_node, mem.nvme_bytes_per_node,
                    estimators::check_fit(mem, cluster_)};
    }
    return it->second;
  }

 private:
  // Every Plan field the search varies, packed; the rest are the same for the whole search.
  using Key = std::array<std::int64_t, 14>;
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      std::size_t h = 1469598103934665603ull;  // FNV-1a over the fields
      for (auto v : k) h = (h ^ static_cast<std::size_t>(v)) * 1099511628211ull;
      return h;
    }
  };
  static Key key(const Plan& p) {
    return {p.zero_stage, static_cast<int>(p.offload_optimizer), static_cast<int>(p.offload_param),
                                   static_cast<int>(p.dtype), static_cast<int>(p.checkpointing), p.micro_batch,
                                   p.grad_accum, p.dp, p.tp, p.pp, p.reduce_bucket_size, p.allgather_bucket_size,
                                   p.stage3_prefetch_bucket_size, p.overlap_comm_enabled() ? 1 : 0};
  }

  const estimators::ModelSpec& model_;
  const profiles::ClusterSpec& cluster_;
  estimators::ParamCount count_;
  double device_scale_;
  std::unordered_map<Key, Entry, KeyHash> memo_;
};

}  // namespace

std::int64_t memory_grad_accum(const Plan& plan) {
  return plan.pp > 1 ? std::min<std::int64_t>(plan.pp, plan.grad_accum) : 1;
}

std::string_view objective_name(Objective o) { return kObjectiveNames[static_cast<int>(o)]; }

Objective parse_objective(std::string_view text, const std::string& what) {
  std::vector<std::string> names(std::begin(kObjectiveNames), std::end(kObjectiveNames));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (text == names[i]) return static_cast<Objective>(i);
  }
  throw UsageError(format_error(what, "unknown objective", "'" + std::string(text) + "'", "throughput, memory or cost") +
                   did_you_mean(std::string(text), names));
}

std::int64_t TuneResult::pruned_total() const {
  std::int64_t n = 0;
  for (const auto& [reason, count] : pruned) n += count;
  return n;
}

bool ranks_before(const RankedPlan& a, const RankedPlan& b, Objective objective) {
  switch (objective) {
    case Objective::kMemory:
      if (a.device_peak_bytes != b.device_peak_bytes) return a.device_peak_bytes < b.device_peak_bytes;
      return a.cost.tokens_per_s > b.cost.tokens_per_s;
    case Objective::kCost: {
      // Device-seconds per token; with every plan on the same GPUs this orders like throughput.
      const double ca = a.plan.world() / a.cost.tokens_per_s, cb = b.plan.world() / b.cost.tokens_per_s;
      if (ca != cb) return ca < cb;
      return a.device_peak_bytes < b.device_peak_bytes;
    }
    case Objective::kThroughput:
      break;
  }
  if (a.cost.tokens_per_s != b.cost.tokens_per_s) return a.cost.tokens_per_s > b.cost.tokens_per_s;
  return a.device_peak_bytes < b.device_peak_bytes;
}

RankedPlan rank_one(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, const Plan& plan,
                    const CostModel& cost) {
  auto mem = estimators::estimate_memory(model, estimators::count_params(model), cluster, plan);
  return {plan, cost.estimate(plan), mem.device_peak_bytes, mem.cpu_peak_bytes_per_node, mem.nvme_bytes_per_node};
}

TuneResult tune(const estimators::ModelSpec& model, const profiles::ClusterSpec& cluster, const TuneOptions& options) {
  if (options.top_k < 1) {
    throw UsageError(format_error("--top", "out of range", std::to_string(options.top_k), "an integer >= 1"));
  }
  const auto start = std::chrono::steady_clock::now();
  SearchSpace space(model, cluster, options.space);
  CostModel cost(model, cluster, options.cost);
  MemoryMemo memory(model, cluster, std::max(1.0, options.memory_scale));
  TuneResult result;
  result.raw_combinations = space.raw_size();
  const auto worse = [&](const RankedPlan& a, const RankedPlan& b) { return ranks_before(a, b, options.objective); };
  // A heap of the best top_k so far, the worst of them on top.
  std::vector<RankedPlan>& heap = result.top;
  heap.reserve(static_cast<std::size_t>(options.top_k) + 1);
  space.for_each(
      [&](const Plan& plan) {
        ++result.candidates;
        const auto& mem = memory.get(plan);
        if (!mem.fit.fits) {
          ++result.pruned[mem.fit.limit + " memory"];
          return;
        }
        RankedPlan ranked{plan, cost.estimate(plan), mem.device, mem.cpu, mem.nvme};
        if (!ranked.cost.missing_rate.empty()) {
          ++result.pruned["no " + ranked.cost.missing_rate];
          return;
        }
        ++result.feasible;
        if (static_cast<int>(heap.size()) < options.top_k) {
          heap.push_back(std::move(ranked));
          std::push_heap(heap.begin(), heap.end(), worse);
        } else if (worse(ranked, heap.front())) {
          std::pop_heap(heap.begin(), heap.end(), worse);
          heap.back() = std::move(ranked);
          std::push_heap(heap.begin(), heap.end(), worse);
        }
      },
      &result.skipped);
  std::sort_heap(heap.begin(), heap.end(), worse);
  result.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.feasible == 0) {
    throw UsageError(format_error("ds tune", "no plan fits", std::to_string(result.candidates) + " candidates pruned (" +
                                                                 pruned_summary(result) + ")",
                                  "at least one plan within the cluster's memory",
                                  "add GPUs, allow offload (--offload-optimizer cpu), smaller --micro-batch or --seq"));
  }
  return result;
}

}  // namespace ds::autotune
