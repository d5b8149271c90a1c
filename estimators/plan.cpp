#include "estimators/plan.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "estimators/model_spec.hpp"

namespace ds::estimators {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

// Looks `text` up among `names` (case-insensitive); UsageError with the choices otherwise.
template <typename E>
E parse_choice(std::string_view text, const std::string& what, const std::vector<std::pair<std::string, E>>& names) {
  std::string key = lower(text);
  std::vector<std::string> choices;
  for (const auto& [name, value] : names) {
    if (name == key) return value;
    choices.push_back(name);
  }
  throw UsageError(format_error(what, "unknown value", "'" + std::string(text) + "'", "one of " + join(choices, ", ")) +
                   did_you_mean(key, choices));
}

std::string stage_text(int stage) { return "ZeRO stage " + std::to_string(stage); }

void check_offload(const Plan& p, std::vector<std::string>& out) {
  if (p.offload_param != OffloadDevice::kNone && p.zero_stage < 3) {
    out.push_back("offload_param=" + std::string(offload_name(p.offload_param)) + " needs ZeRO stage 3 (got stage " +
                  std::to_string(p.zero_stage) + ")");
  }
  if (p.offload_optimizer == OffloadDevice::kCpu && p.zero_stage == 0) {
    out.push_back("offload_optimizer=cpu needs ZeRO stage 1, 2 or 3 (got stage 0)");
  }
  if (p.offload_optimizer_ratio < 0 || p.offload_optimizer_ratio > 1) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%g", p.offload_optimizer_ratio);
    out.push_back("offload_optimizer ratio=" + std::string(ratio) + " must be between 0 and 1");
  } else if (p.partial_offload() && p.zero_stage != 3) {
    out.push_back("a partial optimizer offload (ratio < 1) needs ZeRO stage 3 (got stage " + std::to_string(p.zero_stage) + ")");
  }
  if (p.offload_optimizer == OffloadDevice::kNvme && p.zero_stage < 3) {
    out.push_back("offload_optimizer=nvme needs ZeRO stage 3 (got stage " + std::to_string(p.zero_stage) +
                  "); stages 1 and 2 offload to cpu only");
  }
}

void check_positive(std::int64_t value, const char* name, std::vector<std::string>& out) {
  if (value < 1) out.push_back(std::string(name) + "=" + std::to_string(value) + " must be at least 1");
}

void check_divides(int degree, const char* degree_name, std::int64_t size, const char* size_name,
                   std::vector<std::string>& out) {
  if (degree >= 1 && size % degree != 0) {
    out.push_back(std::string(degree_name) + "=" + std::to_string(degree) + " does not divide " + size_name + "=" +
                  std::to_string(size));
  }
}

void check_parallelism(const Plan& p, const ModelSpec& m, std::vector<std::string>& out) {
  check_divides(p.tp, "tp", m.heads, "num_attention_heads", out);
  check_divides(p.tp, "tp", m.kv_heads, "num_key_value_heads", out);
  check_divides(p.tp, "tp", m.ffn, "intermediate_size", out);
  // DeepSpeed-Ulysses all-to-all hands each sp rank whole heads and an equal slice of the sequence.
  check_divides(p.sp, "sp", m.heads, "num_attention_heads", out);
  check_divides(p.sp, "sp", p.seq_len, "seq_len", out);
  if (p.pp > m.layers) {
    out.push_back("pp=" + std::to_string(p.pp) + " exceeds num_hidden_layers=" + std::to_string(m.layers) +
                  " (every stage needs at least one layer)");
  }
  if (p.pp > 1 && p.zero_stage >= 2) {
    out.push_back(stage_text(p.zero_stage) + " cannot be combined with pipeline parallelism (pp=" + std::to_string(p.pp) +
                  "); DeepSpeed's pipeline engine supports stages 0 and 1");
  }
}

}  // namespace

std::string_view offload_name(OffloadDevice d) {
  switch (d) {
    case OffloadDevice::kNone: return "none";
    case OffloadDevice::kCpu: return "cpu";
    case OffloadDevice::kNvme: return "nvme";
  }
  return "none";
}

std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::kFp32: return "fp32";
    case DType::kFp16: return "fp16";
    case DType::kBf16: return "bf16";
  }
  return "bf16";
}

std::string_view optimizer_name(OptimizerKind o) {
  switch (o) {
    case OptimizerKind::kAdam: return "adam";
    case OptimizerKind::kAdamW: return "adamw";
    case OptimizerKind::kSgd: return "sgd";
  }
  return "adamw";
}

std::string_view checkpointing_name(Checkpointing c) {
  switch (c) {
    case Checkpointing::kNone: return "none";
    case Checkpointing::kSelective: return "selective";
    case Checkpointing::kFull: return "full";
  }
  return "none";
}

std::string_view engine_name(Engine e) { return e == Engine::kDs ? "ds" : "deepspeed"; }

OffloadDevice parse_offload(std::string_view text, const std::string& what) {
  return parse_choice<OffloadDevice>(
      text, what, {{"none", OffloadDevice::kNone}, {"cpu", OffloadDevice::kCpu}, {"nvme", OffloadDevice::kNvme}});
}

DType parse_dtype(std::string_view text, const std::string& what) {
  return parse_choice<DType>(text, what, {{"fp32", DType::kFp32}, {"fp16", DType::kFp16}, {"bf16", DType::kBf16}});
}

Checkpointing parse_checkpointing(std::string_view text, const std::string& what) {
  return parse_choice<Checkpointing>(
      text, what,
      {{"none", Checkpointing::kNone}, {"selective", Checkpointing::kSelective}, {"full", Checkpointing::kFull}});
}

Engine parse_engine(std::string_view text, const std::string& what) {
  return parse_choice<Engine>(text, what, {{"deepspeed", Engine::kDeepSpeed}, {"ds", Engine::kDs}});
}

Plan as_run_by_ds(Plan plan) {
  plan.engine = Engine::kDs;
  if (plan.ds_recomputes_every_block()) plan.checkpointing = Checkpointing::kFull;
  return plan;
}

void parse_optimizer(std::string_view text, const std::string& what, Plan& plan) {
  // 0..3 index the optimizer; 3 is SGD with momentum.
  int choice = parse_choice<int>(text, what, {{"adam", 0}, {"adamw", 1}, {"sgd", 2}, {"sgd-momentum", 3}});
  static const OptimizerKind kinds[] = {OptimizerKind::kAdam, OptimizerKind::kAdamW, OptimizerKind::kSgd,
                                        OptimizerKind::kSgd};
  plan.optimizer = kinds[choice];
  plan.sgd_momentum = choice == 3;
}

double dtype_bytes(DType d) { return d == DType::kFp32 ? 4.0 : 2.0; }

std::vector<std::string> plan_problems(const Plan& p, const ModelSpec& m, std::optional<int> world) {
  std::vector<std::string> out;
  if (p.zero_stage < 0 || p.zero_stage > 3) {
    out.push_back("zero_stage=" + std::to_string(p.zero_stage) + " is not a ZeRO stage (expected 0, 1, 2 or 3)");
  }
  check_offload(p, out);
  check_positive(p.dp, "dp", out);
  check_positive(p.tp, "tp", out);
  check_positive(p.pp, "pp", out);
  check_positive(p.sp, "sp", out);
  check_positive(p.micro_batch, "micro_batch", out);
  check_positive(p.seq_len, "seq_len", out);
  check_positive(p.grad_accum, "grad_accum", out);
  check_positive(p.reduce_bucket_size, "reduce_bucket_size", out);
  check_positive(p.allgather_bucket_size, "allgather_bucket_size", out);
  check_positive(p.stage3_prefetch_bucket_size, "stage3_prefetch_bucket_size", out);
  check_positive(p.stage3_max_live_parameters, "stage3_max_live_parameters", out);
  check_parallelism(p, m, out);
  if (m.position == PositionEncoding::kLearned && p.seq_len > m.max_seq) {
    out.push_back("seq_len=" + std::to_string(p.seq_len) + " exceeds n_positions=" + std::to_string(m.max_seq) +
                  " of a model with learned positions");
  }
  if (world && p.dp >= 1 && p.tp >= 1 && p.pp >= 1 && p.sp >= 1 && p.world() != *world) {
    out.push_back("dp*tp*pp*sp = " + std::to_string(p.dp) + "*" + std::to_string(p.tp) + "*" + std::to_string(p.pp) +
                  "*" + std::to_string(p.sp) + " = " + std::to_string(p.world()) + " does not equal the " +
                  std::to_string(*world) + " ranks of the cluster");
  }
  return out;
}

void validate_plan(const Plan& plan, const ModelSpec& model, std::optional<int> world) {
  auto problems = plan_problems(plan, model, world);
  if (!problems.empty()) throw UsageError("plan: " + join(problems, "; "));
}

}  // namespace ds::estimators
