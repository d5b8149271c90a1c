#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace ds::engine::tokenizer {

/// Where a value sits in tokenizer.json, for error messages: "<file>: pre_tokenizer.pretokenizers[1].type".
struct JsonPath {
  std::string file;  ///< the tokenizer.json path as the user gave it
  std::string key;   ///< dotted key path; empty for the document root

  JsonPath child(const std::string& name) const { return {file, key.empty() ? name : key + "." + name}; }
  JsonPath index(std::size_t i) const { return {file, key + "[" + std::to_string(i) + "]"}; }
  /// "<file>: <key>" (or just the file at the root).
  std::string where() const { return key.empty() ? file : file + ": " + key; }
};

/// The JSON type name of `value` for messages ("string", "array", "null", ...).
std::string json_type_name(const nlohmann::json& value);

/// `obj[name]` when present and not null, else nullptr. `obj` must be an object (checked by the caller).
const nlohmann::json* find_field(const nlohmann::json& obj, const char* name);

/// `value` as a token id (an integer in [0, 2^32)), or nullopt when it is anything else.
std::optional<std::uint32_t> as_token_id(const nlohmann::json& value);

/// Throws UsageError unless `value` is an object.
void require_object(const nlohmann::json& value, const JsonPath& at);

/// The string at `obj[name]`; `fallback` when absent or null; UsageError when of another type.
std::string string_field(const nlohmann::json& obj, const char* name, const JsonPath& at, const std::string& fallback);
/// The string at `obj[name]`; UsageError when absent or not a string.
std::string required_string(const nlohmann::json& obj, const char* name, const JsonPath& at);
/// The boolean at `obj[name]`; `fallback` when absent or null; UsageError when of another type.
bool bool_field(const nlohmann::json& obj, const char* name, const JsonPath& at, bool fallback);
/// The array at `obj[name]`; UsageError when absent or not an array.
const nlohmann::json& required_array(const nlohmann::json& obj, const char* name, const JsonPath& at);

/// Throws the house error for a component type this build does not implement, e.g.
/// "tokenizer.json: pre_tokenizer.type: unsupported pre-tokenizer (got 'Whitespace'); expected one of: ...".
[[noreturn]] void throw_unsupported(const JsonPath& type_at, const std::string& what, const std::string& got,
                                    const std::vector<std::string>& supported);

/// The steps of a Sequence component: `parse(item, path)` for each entry of the array `obj[name]`
/// (null results, i.e. null entries, are left out).
template <class T, class Parse>
std::vector<std::unique_ptr<T>> parse_steps(const nlohmann::json& obj, const char* name, const JsonPath& at, Parse parse) {
  const auto& items = required_array(obj, name, at);
  std::vector<std::unique_ptr<T>> steps;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (auto step = parse(items[i], at.child(name).index(i))) steps.push_back(std::move(step));
  }
  return steps;
}

/// Joins names as "a, b, c".
std::string join_names(const std::vector<std::string>& names);

}  // namespace ds::engine::tokenizer
