#include "configs/detail/key_list.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <type_traits>

#include "configs/detail/document.hpp"
#include "configs/detail/schema.hpp"

namespace ds::configs::detail {
namespace {

template <class T>
struct Kind {
  static std::string name() {
    if constexpr (std::is_same_v<T, bool>) return "bool";
    else if constexpr (std::is_integral_v<T>) return "integer";
    else if constexpr (std::is_floating_point_v<T>) return "number";
    else if constexpr (std::is_same_v<T, std::string>) return "string";
    else if constexpr (std::is_enum_v<T>) return "enum";
    else if constexpr (std::is_same_v<T, std::array<double, 2>>) return "pair";
    else return "policy";
  }
};

/// Schema visitor that records each key instead of reading or writing it.
class KeyLister {
 public:
  static constexpr bool kReads = false;
  KeyLister(std::vector<KeyInfo>& out, std::set<std::string>& seen, std::string path)
      : out_(out), seen_(seen), path_(std::move(path)) {}

  template <class T>
  void field(std::string_view key, const T&, const FieldSpec& spec) {
    add({join_path(path_, key), Kind<T>::name(), spec.auto_ok, false});
  }
  template <class T>
  void field(std::string_view key, const std::optional<T>&, const FieldSpec& spec) {
    add({join_path(path_, key), Kind<T>::name(), spec.auto_ok, true});
  }
  template <class Body>
  void section(std::string_view key, Body&& body) {
    const std::string path = join_path(path_, key);
    add({path, "section", false, false});
    KeyLister child(out_, seen_, path);
    body(child);
  }
  void passthrough(std::span<const std::string_view> keys) {
    for (auto key : keys) add({join_path(path_, key), "passthrough", false, false});
  }

 private:
  void add(KeyInfo info) {
    if (seen_.insert(info.path).second) out_.push_back(std::move(info));
  }
  std::vector<KeyInfo>& out_;
  std::set<std::string>& seen_;
  std::string path_;
};

std::vector<KeyInfo> list_keys() {
  constexpr std::array kOptimizers = {
      OptimizerType::kAdam,    OptimizerType::kAdamW,      OptimizerType::kLamb,
      OptimizerType::kLion,    OptimizerType::kAdagrad,    OptimizerType::kSGD,
      OptimizerType::kOneBitAdam, OptimizerType::kZeroOneAdam, OptimizerType::kOneBitLamb};
  constexpr std::array kSchedulers = {SchedulerType::kWarmupLR, SchedulerType::kWarmupDecayLR,
                                      SchedulerType::kWarmupCosineLR, SchedulerType::kOneCycle,
                                      SchedulerType::kLRRangeTest};
  std::vector<KeyInfo> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < kOptimizers.size(); ++i) {
    Config config;
    config.optimizer.type = kOptimizers[i];
    config.scheduler.type = kSchedulers[i % kSchedulers.size()];
    KeyLister lister(out, seen, "");
    visit_config(lister, static_cast<const Config&>(config));
  }
  return out;
}

}  // namespace

const std::vector<KeyInfo>& all_keys() {
  static const std::vector<KeyInfo> keys = list_keys();
  return keys;
}

}  // namespace ds::configs::detail
