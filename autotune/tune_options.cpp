#include "autotune/tune_options.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.hpp"
#include "common/units.hpp"

namespace ds::autotune {
namespace {

std::vector<std::string> split_list(const std::string& text, const char* flag) {
  std::vector<std::string> out;
  std::string item;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
      if (b == std::string::npos) {
        throw UsageError(format_error(flag, "empty item in the list", "'" + text + "'", "comma-separated values, e.g. 1,2,4"));
      }
      out.push_back(item.substr(b, e - b + 1));
      item.clear();
    } else {
      item += text[i];
    }
  }
  return out;
}

std::vector<std::int64_t> counts(const std::string& text, const char* flag) {
  std::vector<std::int64_t> out;
  for (const auto& item : split_list(text, flag)) {
    double v = 0;
    try {
      v = parse_count(item, flag);
    } catch (const UsageError&) {
      v = 0;  // reported below with the list's own wording
    }
    if (v < 1 || v != std::floor(v)) {
      throw UsageError(format_error(flag, "not a whole number >= 1", "'" + item + "'", "integers >= 1, e.g. 1,2,4"));
    }
    out.push_back(static_cast<std::int64_t>(v));
  }
  return out;
}

template <typename T, typename Parse>
std::vector<T> choices(const std::string& text, const char* flag, Parse parse) {
  std::vector<T> out;
  for (const auto& item : split_list(text, flag)) {
    T value = parse(item, std::string(flag));
    if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(value);
  }
  return out;
}

}  // namespace

TuneOptions resolve_tune_options(const SearchFlags& f, const estimators::ModelSpec& model,
                                 const profiles::ClusterSpec& cluster) {
  TuneOptions o;
  SearchSpaceOptions& s = o.space;
  if (!f.stages.empty()) {
    s.stages.clear();
    for (auto v : split_list(f.stages, "--stages")) {
      if (v.size() != 1 || v[0] < '0' || v[0] > '3') {
        throw UsageError(format_error("--stages", "not a ZeRO stage", "'" + v + "'", "0, 1, 2 or 3"));
      }
      if (std::find(s.stages.begin(), s.stages.end(), v[0] - '0') == s.stages.end()) s.stages.push_back(v[0] - '0');
    }
  }
  if (!f.offload_optimizer.empty()) {
    s.offload_optimizer = choices<estimators::OffloadDevice>(f.offload_optimizer, "--offload-optimizer", estimators::parse_offload);
  }
  if (!f.offload_param.empty()) {
    s.offload_param = choices<estimators::OffloadDevice>(f.offload_param, "--offload-param", estimators::parse_offload);
  }
  if (!f.micro_batches.empty()) s.micro_batches = counts(f.micro_batches, "--micro-batch");
  if (!f.grad_accums.empty()) s.grad_accums = counts(f.grad_accums, "--grad-accum");
  if (!f.global_batch.empty()) {
    auto g = counts(f.global_batch, "--global-batch");
    if (g.size() != 1) {
      throw UsageError(format_error("--global-batch", "one value expected", "'" + f.global_batch + "'", "a count, e.g. 512"));
    }
    if (!f.grad_accums.empty()) {
      throw UsageError(format_error("--grad-accum", "cannot be combined with --global-batch", "", "one of them",
                                    "with --global-batch the accumulation follows from micro-batch and dp"));
    }
    s.global_batch = g.front();
  }
  if (!f.checkpointing.empty()) {
    s.checkpointing = choices<estimators::Checkpointing>(f.checkpointing, "--checkpointing", estimators::parse_checkpointing);
  }
  if (!f.dtypes.empty()) s.dtypes = choices<estimators::DType>(f.dtypes, "--dtype", estimators::parse_dtype);
  if (!f.bucket_sizes.empty()) s.bucket_sizes = counts(f.bucket_sizes, "--bucket-sizes");
  estimators::Plan scratch;
  estimators::parse_optimizer(f.optimizer, "--optimizer", scratch);
  s.optimizer = scratch.optimizer;
  if (f.max_tp < 0) throw UsageError(format_error("--max-tp", "out of range", std::to_string(f.max_tp), "0 (a node) or more"));
  if (f.max_pp < 0) throw UsageError(format_error("--max-pp", "out of range", std::to_string(f.max_pp), "0 (any) or more"));
  s.max_tp = f.max_tp;
  s.max_pp = f.max_pp;
  if (f.max_sp < 0) {
    throw UsageError(format_error("--max-sp", "out of range", std::to_string(f.max_sp), "1 (off), 0 (a node) or more"));
  }
  s.max_sp = f.max_sp;
  if (f.seq_len < 0) throw UsageError(format_error("--seq", "out of range", std::to_string(f.seq_len), "an integer >= 1"));
  s.seq_len = f.seq_len > 0 ? f.seq_len : std::min<std::int64_t>(model.max_seq, 4096);
  s.engine = f.engine == "auto" ? (cluster.is_preset ? estimators::Engine::kDeepSpeed : estimators::Engine::kDs)
                                : estimators::parse_engine(f.engine, "--engine");
  // The engine's CPU path materialises the attention scores (no fused kernel in LibTorch 1.13).
  s.fused_attention = cluster.device == profiles::DeviceKind::kGpu;
  o.objective = parse_objective(f.objective, "--objective");
  if (f.top_k < 1) throw UsageError(format_error("--top", "out of range", std::to_string(f.top_k), "an integer >= 1"));
  o.top_k = f.top_k;
  return o;
}

}  // namespace ds::autotune
