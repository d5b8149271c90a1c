// Deprecated spellings DeepSpeed still reads, rewritten to the current keys before the schema walk
// (deepspeed/runtime/zero/config.py: field aliases with populate_by_name, the deprecated
// cpu_offload* fields and their new_param_fn, read_zero_config_deprecated; precision_config.py:
// BFLOAT16_OLD).
#include "common/error.hpp"
#include "common/log.hpp"
#include "configs/detail/document.hpp"

namespace ds::configs::detail {
namespace {

// Copies the line numbers recorded under `from` (the key and everything below it) to `to`.
void move_lines(SourceInfo& source, const std::string& from, const std::string& to) {
  std::map<std::string, int> moved;
  for (const auto& [path, line] : source.lines) {
    if (path == from) moved[to] = line;
    else if (path.compare(0, from.size() + 1, from + ".") == 0) moved[to + path.substr(from.size())] = line;
  }
  source.lines.insert(moved.begin(), moved.end());
}

[[noreturn]] void set_twice(const SourceInfo& source, const std::string& section, const std::string& old_key,
                            const std::string& new_key) {
  throw ConfigError(format_error(where(source, join_path(section, old_key)),
                                 "set twice, also as '" + join_path(section, new_key) + "'", "", "one of the two",
                                 "'" + old_key + "' is DeepSpeed's older name for '" + new_key + "'"));
}

void rename(Document& object, SourceInfo& source, const std::string& section, const std::string& old_key,
            const std::string& new_key) {
  auto it = object.find(old_key);
  if (it == object.end()) return;
  if (object.contains(new_key)) set_twice(source, section, old_key, new_key);
  const std::string old_path = join_path(section, old_key), new_path = join_path(section, new_key);
  log::warn(where(source, old_path), ": deprecated key, read as '", new_path, "'");
  Document value = std::move(*it);
  object.erase(old_key);
  object[new_key] = std::move(value);
  move_lines(source, old_path, new_path);
}

// zero_optimization.cpu_offload / cpu_offload_param: true -> an offload section on the CPU.
void expand_cpu_offload(Document& zero, SourceInfo& source, const std::string& old_key, const std::string& new_key) {
  auto it = zero.find(old_key);
  if (it == zero.end()) return;
  const std::string old_path = join_path("zero_optimization", old_key);
  if (!it->is_boolean()) {
    throw ConfigError(format_error(where(source, old_path), "wrong type", render_value(*it), "true or false"));
  }
  if (zero.contains(new_key)) set_twice(source, "zero_optimization", old_key, new_key);
  const bool on = it->get<bool>();
  log::warn(where(source, old_path), ": deprecated key, read as 'zero_optimization.", new_key, "'");
  zero.erase(old_key);
  if (on) zero[new_key] = Document{{"device", "cpu"}};
  move_lines(source, old_path, join_path("zero_optimization", new_key));
}

void normalize_zero(Document& zero, SourceInfo& source) {
  const std::string section = "zero_optimization";
  for (const char* name : {"prefetch_bucket_size", "param_persistence_threshold", "model_persistence_threshold",
                           "max_live_parameters", "max_reuse_distance", "gather_16bit_weights_on_model_save"}) {
    rename(zero, source, section, name, std::string("stage3_") + name);
  }
  rename(zero, source, section, "stage3_gather_fp16_weights_on_model_save", "stage3_gather_16bit_weights_on_model_save");
  expand_cpu_offload(zero, source, "cpu_offload", "offload_optimizer");
  expand_cpu_offload(zero, source, "cpu_offload_param", "offload_param");
  auto pin = zero.find("cpu_offload_use_pin_memory");
  if (pin == zero.end()) return;
  const std::string pin_path = section + ".cpu_offload_use_pin_memory";
  if (!pin->is_boolean()) {
    throw ConfigError(format_error(where(source, pin_path), "wrong type", render_value(*pin), "true or false"));
  }
  const bool on = pin->get<bool>();
  log::warn(where(source, pin_path), ": deprecated key, read as pin_memory of the offload sections");
  zero.erase("cpu_offload_use_pin_memory");
  for (const char* offload : {"offload_optimizer", "offload_param"}) {
    auto it = zero.find(offload);
    if (on && it != zero.end() && it->is_object() && !it->contains("pin_memory")) (*it)["pin_memory"] = true;
  }
}

}  // namespace

void normalize_legacy_keys(Document& doc, SourceInfo& source) {
  if (!doc.is_object()) return;
  rename(doc, source, "", "bfloat16", "bf16");
  auto zero = doc.find("zero_optimization");
  if (zero == doc.end()) return;
  if (zero->is_boolean()) {  // the pre-0.3 format: "zero_optimization": true means stage 1
    log::warn(where(source, "zero_optimization"), ": deprecated boolean form, read as {\"stage\": ",
              zero->get<bool>() ? 1 : 0, "}");
    *zero = Document{{"stage", zero->get<bool>() ? 1 : 0}};
    return;
  }
  if (zero->is_object()) normalize_zero(*zero, source);
}

}  // namespace ds::configs::detail
