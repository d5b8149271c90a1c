#include "configs/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "configs/detail/enum_names.hpp"

namespace ds::configs {

DType compute_dtype(const Config& config) {
  if (config.ds.dtype) return *config.ds.dtype;
  if (config.bf16.enabled) return DType::kBf16;
  if (config.fp16.enabled) return DType::kFp16;
  return DType::kFp32;
}

// Constructor defaults of the optimizers DeepSpeed builds for each type: deepspeed/ops/adam
// FusedAdam (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0), ops/lamb FusedLamb (same, plus
// max_coeff 10, min_coeff 0.01), ops/lion FusedLion (lr 1e-3, betas (0.9, 0.999)), torch.optim.Adagrad
// (lr 1e-2, eps 1e-10), torch.optim.SGD (lr 1e-3 in current torch), runtime/fp16/onebit (freeze_step
// 100000, comm_backend_name "nccl").
OptimizerParams optimizer_defaults(OptimizerType type) {
  OptimizerParams p;
  switch (type) {
    case OptimizerType::kAdagrad:
      p.lr = 1e-2;
      p.eps = 1e-10;
      break;
    default:
      break;
  }
  return p;
}

std::string to_string(OffloadDevice value) { return detail::enum_name(value); }
std::string to_string(DType value) { return detail::enum_name(value); }
std::string to_string(OptimizerType value) { return detail::enum_name(value); }
std::string to_string(SchedulerType value) { return detail::enum_name(value); }
std::string to_string(WarmupType value) { return detail::enum_name(value); }
std::string to_string(TagValidation value) { return detail::enum_name(value); }
std::string to_string(CommBackend value) { return detail::enum_name(value); }

std::string to_string(const CheckpointPolicy& value) {
  switch (value.kind) {
    case CheckpointPolicy::Kind::kNone: return "none";
    case CheckpointPolicy::Kind::kFull: return "full";
    case CheckpointPolicy::Kind::kSelective: return "selective";
    case CheckpointPolicy::Kind::kEveryN: return "every-" + std::to_string(value.every_n);
  }
  return "none";
}

namespace detail {

bool equal_names(std::string_view a, std::string_view b, bool ignore_case) {
  if (!ignore_case) return a == b;
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<CheckpointPolicy> parse_checkpoint_policy(std::string_view text) {
  using Kind = CheckpointPolicy::Kind;
  if (text == "none") return CheckpointPolicy{Kind::kNone, 0};
  if (text == "full") return CheckpointPolicy{Kind::kFull, 0};
  if (text == "selective") return CheckpointPolicy{Kind::kSelective, 0};
  constexpr std::string_view kPrefix = "every-";
  if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view digits = text.substr(kPrefix.size());
  int n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < 1 || digits.empty()) return std::nullopt;
  return CheckpointPolicy{Kind::kEveryN, n};
}

}  // namespace detail
}  // namespace ds::configs
