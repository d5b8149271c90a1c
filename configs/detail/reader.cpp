#include "configs/detail/reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/log.hpp"
#include "configs/detail/key_list.hpp"
#include "configs/validation.hpp"

namespace ds::configs::detail {
namespace {

std::string format_bound(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// Integral value of a JSON number, if it has one that fits int64 (5e8 written as a float counts,
// as pydantic's pp_int fields accept it).
std::optional<std::int64_t> integral_value(const Document& j) {
  if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<std::int64_t>();
  if (j.is_number_unsigned()) {
    auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  double x = j.get<double>();
  if (!std::isfinite(x) || std::floor(x) != x || std::fabs(x) >= 9.2e18) return std::nullopt;
  return static_cast<std::int64_t>(x);
}

// A kept-verbatim value in the form both formats can hold: TOML has no null (null means "the
// default" anyway, so it is dropped, in arrays too) and no integer above INT64_MAX (kept as a float).
Document portable(const Document& value) {
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > std::uint64_t{INT64_MAX}) return value.get<double>();
  if (value.is_object()) {
    Document out = Document::object();
    for (const auto& [key, element] : value.items()) {
      if (!element.is_null()) out[key] = portable(element);
    }
    return out;
  }
  if (value.is_array()) {
    Document out = Document::array();
    for (const auto& element : value) {
      if (!element.is_null()) out.push_back(portable(element));
    }
    return out;
  }
  return value;
}

}  // namespace

std::string join_path(const std::string& section, std::string_view key) {
  return section.empty() ? std::string(key) : section + "." + std::string(key);
}

std::string where(const SourceInfo& source, const std::string& path) {
  std::string out = source.name;
  for (std::string p = path; !p.empty();) {
    if (auto it = source.lines.find(p); it != source.lines.end()) {
      out += ":" + std::to_string(it->second);
      break;
    }
    auto dot = p.rfind('.');
    p = dot == std::string::npos ? std::string() : p.substr(0, dot);
  }
  return path.empty() ? out : out + ": " + path;
}

std::string render_value(const Document& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

void Reader::passthrough(std::span<const std::string_view> keys) {
  for (auto key : keys) {
    known_.emplace_back(key);
    auto it = object_.find(std::string(key));
    if (it == object_.end() || it->is_null()) continue;
    const std::string path = join_path(path_, key);
    // Sorted keys (nlohmann::json, not ordered_json): the same value read from JSON or from TOML
    // (whose tables are sorted) must compare equal.
    root_.passthrough[path] = nlohmann::json(portable(*it)).dump();
    root_.provenance.set_keys.insert(path);
    log::warn(where(source_, path), ": DeepSpeed key that ds does not use; kept as written");
  }
}

void Reader::finish() const {
  for (const auto& item : object_.items()) {
    if (std::find(known_.begin(), known_.end(), item.key()) == known_.end()) unknown_key(item.key());
  }
}

void Reader::read_value(const Document& j, bool& out, const FieldSpec& spec, const std::string& path) const {
  if (!j.is_boolean()) bad_type(path, j, expected_text(out, spec));
  out = j.get<bool>();
}

void Reader::read_value(const Document& j, std::int64_t& out, const FieldSpec& spec, const std::string& path) const {
  if (!j.is_number()) bad_type(path, j, expected_number(spec, true));
  auto value = integral_value(j);
  if (!value) bad_type(path, j, expected_number(spec, true));
  if (static_cast<double>(*value) < spec.min || static_cast<double>(*value) > spec.max) {
    out_of_range(path, j, expected_number(spec, true));
  }
  out = *value;
}

void Reader::read_value(const Document& j, int& out, const FieldSpec& spec, const std::string& path) const {
  std::int64_t wide = 0;
  FieldSpec narrowed = spec;
  narrowed.min = std::max(spec.min, static_cast<double>(std::numeric_limits<int>::min()));
  narrowed.max = std::min(spec.max, static_cast<double>(std::numeric_limits<int>::max()));
  read_value(j, wide, narrowed, path);
  out = static_cast<int>(wide);
}

void Reader::read_value(const Document& j, double& out, const FieldSpec& spec, const std::string& path) const {
  if (!j.is_number()) bad_type(path, j, expected_number(spec, false));
  double value = j.get<double>();
  if (!std::isfinite(value)) bad_type(path, j, expected_number(spec, false));
  if (value < spec.min || value > spec.max) out_of_range(path, j, expected_number(spec, false));
  out = value;
}

void Reader::read_value(const Document& j, std::string& out, const FieldSpec& spec, const std::string& path) const {
  if (!j.is_string()) bad_type(path, j, expected_text(out, spec));
  out = j.get<std::string>();
}

void Reader::read_value(const Document& j, std::array<double, 2>& out, const FieldSpec& spec,
                        const std::string& path) const {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number()) {
    bad_type(path, j, expected_text(out, spec));
  }
  for (std::size_t i = 0; i < 2; ++i) {
    double value = j[i].get<double>();
    if (!std::isfinite(value) || value < spec.min || value > spec.max) {
      out_of_range(path, j, expected_text(out, spec));
    }
    out[i] = value;
  }
}

void Reader::read_value(const Document& j, CheckpointPolicy& out, const FieldSpec& spec,
                        const std::string& path) const {
  if (!j.is_string()) bad_type(path, j, expected_text(out, spec));
  auto policy = parse_checkpoint_policy(j.get_ref<const std::string&>());
  if (!policy) {
    throw ConfigError(format_error(where(source_, path), "unknown value", render_value(j), expected_text(out, spec)) +
                      did_you_mean(j.get_ref<const std::string&>(), {"none", "full", "selective", "every-2"}));
  }
  out = *policy;
}

std::string Reader::expected_text(const std::array<double, 2>&, const FieldSpec& spec) {
  return "an array of 2 numbers from " + format_bound(spec.min) + " to " + format_bound(spec.max);
}

std::string Reader::expected_text(const CheckpointPolicy&, const FieldSpec&) {
  return "\"none\", \"full\", \"selective\" or \"every-N\" (N >= 1)";
}

std::string Reader::expected_number(const FieldSpec& spec, bool integer) {
  std::string out = integer ? "an integer" : "a number";
  const bool has_min = std::isfinite(spec.min), has_max = std::isfinite(spec.max);
  if (has_min && has_max) return out + " from " + format_bound(spec.min) + " to " + format_bound(spec.max);
  if (has_min) return out + " >= " + format_bound(spec.min);
  if (has_max) return out + " <= " + format_bound(spec.max);
  return out;
}

std::string Reader::expected_enum(const std::vector<std::string>& names) {
  std::string out = "one of ";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", \"" : "\"") + names[i] + "\"";
  return out;
}

void Reader::missing_key(const std::string& path, const std::string& expected) const {
  throw ConfigError(format_error(where(source_, path), "missing key", "", expected));
}

void Reader::auto_not_allowed(const std::string& path, const std::string& expected) const {
  throw ConfigError(format_error(where(source_, path), "\"auto\" is not accepted here", "\"auto\"", expected,
                                 "\"auto\" works only for the keys docs/config.md marks as auto"));
}

void Reader::not_a_section(const std::string& path, const Document& value) const {
  throw ConfigError(format_error(where(source_, path), "wrong type", render_value(value),
                                 source_.toml ? "a table" : "an object"));
}

void Reader::bad_type(const std::string& path, const Document& value, const std::string& expected) const {
  throw ConfigError(format_error(where(source_, path), "wrong type", render_value(value), expected));
}

void Reader::out_of_range(const std::string& path, const Document& value, const std::string& expected) const {
  throw ConfigError(format_error(where(source_, path), "value out of range", render_value(value), expected));
}

void Reader::bad_enum(const std::string& path, const Document& value, const std::vector<std::string>& names) const {
  throw ConfigError(format_error(where(source_, path), "unknown value", render_value(value), expected_enum(names)) +
                    did_you_mean(value.get_ref<const std::string&>(), names));
}

void Reader::unknown_key(const std::string& key) const {
  const std::string path = join_path(path_, key);
  const std::string message = format_error(where(source_, path), "unknown key");
  if (auto match = closest_match(key, known_)) {
    throw ConfigError(message + "; did you mean '" + join_path(path_, *match) + "'?");
  }
  // Optimizer and scheduler parameters depend on the type: list what this type takes.
  if (path_ == "optimizer.params" || path_ == "scheduler.params") {
    std::string list;
    for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
    const std::string type = path_ == "optimizer.params" ? "optimizer type " + to_string(root_.optimizer.type)
                                                         : "scheduler type " + to_string(root_.scheduler.type);
    throw ConfigError(message + " for " + type + "; expected one of " + list);
  }
  // The key may belong to another section ("stage" at the top level).
  const std::string suffix = "." + key;
  for (const auto& info : all_keys()) {
    const auto& p = info.path;
    if (p != path && p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      throw ConfigError(message + "; did you mean '" + p + "'?");
    }
  }
  throw ConfigError(message + "; hint: docs/config.md lists the keys of " +
                    (path_.empty() ? std::string("the top level") : "'" + path_ + "'"));
}

Config read_document(const Document& doc, const SourceInfo& source) {
  if (!doc.is_object()) {
    throw ConfigError(format_error(source.name, "the top level must be " + std::string(source.toml ? "a table" : "an object"),
                                   render_value(doc), source.toml ? "key = value lines" : "{ \"key\": value, ... }"));
  }
  Config config;
  Reader reader(doc, "", config, source);
  visit_config(reader, config);
  reader.finish();
  validate(config, source.name);
  return config;
}

}  // namespace ds::configs::detail
