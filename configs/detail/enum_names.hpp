#pragma once
// Spellings of the config enums: the canonical name each writer emits first, then the aliases the
// readers also accept (DeepSpeed's own aliases, e.g. DtypeEnum's "float16"/"half").
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "configs/config.hpp"

namespace ds::configs::detail {

/// One spelling of an enum value; the first entry for a value is its canonical name.
template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

/// Spellings and matching rule of enum E (specialised below).
template <class E>
struct EnumTable;

template <>
struct EnumTable<OffloadDevice> {
  static constexpr bool kIgnoreCase = false;  // pydantic str enum: exact
  static constexpr EnumName<OffloadDevice> kNames[] = {
      {OffloadDevice::kNone, "none"}, {OffloadDevice::kCpu, "cpu"}, {OffloadDevice::kNvme, "nvme"}};
};

template <>
struct EnumTable<DType> {
  static constexpr bool kIgnoreCase = false;
  static constexpr EnumName<DType> kNames[] = {
      {DType::kFp32, "fp32"},    {DType::kFp16, "fp16"},     {DType::kBf16, "bf16"},
      {DType::kFp32, "float32"}, {DType::kFp32, "float"},    {DType::kFp16, "float16"},
      {DType::kFp16, "half"},    {DType::kBf16, "bfloat16"}};
};

template <>
struct EnumTable<OptimizerType> {
  static constexpr bool kIgnoreCase = true;  // DeepSpeed lower-cases optimizer names
  static constexpr EnumName<OptimizerType> kNames[] = {
      {OptimizerType::kAdam, "Adam"},           {OptimizerType::kAdamW, "AdamW"},
      {OptimizerType::kLamb, "Lamb"},           {OptimizerType::kLion, "Lion"},
      {OptimizerType::kAdagrad, "Adagrad"},     {OptimizerType::kSGD, "SGD"},
      {OptimizerType::kOneBitAdam, "OneBitAdam"}, {OptimizerType::kZeroOneAdam, "ZeroOneAdam"},
      {OptimizerType::kOneBitLamb, "OneBitLamb"}};
};

template <>
struct EnumTable<SchedulerType> {
  static constexpr bool kIgnoreCase = false;  // lr_schedules.py compares names exactly
  static constexpr EnumName<SchedulerType> kNames[] = {
      {SchedulerType::kWarmupLR, "WarmupLR"},           {SchedulerType::kWarmupDecayLR, "WarmupDecayLR"},
      {SchedulerType::kWarmupCosineLR, "WarmupCosineLR"}, {SchedulerType::kOneCycle, "OneCycle"},
      {SchedulerType::kLRRangeTest, "LRRangeTest"}};
};

template <>
struct EnumTable<WarmupType> {
  static constexpr bool kIgnoreCase = false;
  static constexpr EnumName<WarmupType> kNames[] = {{WarmupType::kLog, "log"}, {WarmupType::kLinear, "linear"}};
};

template <>
struct EnumTable<TagValidation> {
  static constexpr bool kIgnoreCase = true;  // DeepSpeed upper-cases before comparing
  static constexpr EnumName<TagValidation> kNames[] = {
      {TagValidation::kIgnore, "Ignore"}, {TagValidation::kWarn, "Warn"}, {TagValidation::kFail, "Fail"}};
};

template <>
struct EnumTable<CommBackend> {
  static constexpr bool kIgnoreCase = false;
  static constexpr EnumName<CommBackend> kNames[] = {
      {CommBackend::kAuto, "auto"}, {CommBackend::kGloo, "gloo"}, {CommBackend::kNccl, "nccl"}};
};

bool equal_names(std::string_view a, std::string_view b, bool ignore_case);

/// The value spelled `text`, if any.
template <class E>
std::optional<E> parse_enum(std::string_view text) {
  for (const auto& entry : EnumTable<E>::kNames) {
    if (equal_names(entry.name, text, EnumTable<E>::kIgnoreCase)) return entry.value;
  }
  return std::nullopt;
}

/// The canonical spelling of `value`.
template <class E>
std::string enum_name(E value) {
  for (const auto& entry : EnumTable<E>::kNames) {
    if (entry.value == value) return std::string(entry.name);
  }
  return "none";  // kNone of OptimizerType/SchedulerType: no section is written
}

/// Canonical spellings, each once, for "expected one of ..." and "did you mean".
template <class E>
std::vector<std::string> canonical_names() {
  std::vector<std::string> out;
  for (const auto& entry : EnumTable<E>::kNames) {
    if (enum_name(entry.value) == entry.name) out.emplace_back(entry.name);
  }
  return out;
}

/// Parses ds.activation_checkpointing: "none" | "full" | "selective" | "every-N" (N >= 1).
std::optional<CheckpointPolicy> parse_checkpoint_policy(std::string_view text);

}  // namespace ds::configs::detail
