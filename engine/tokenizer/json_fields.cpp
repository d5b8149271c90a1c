#include "engine/tokenizer/json_fields.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ds::engine::tokenizer {

std::string json_type_name(const nlohmann::json& value) { return value.type_name(); }

const nlohmann::json* find_field(const nlohmann::json& obj, const char* name) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::uint32_t> as_token_id(const nlohmann::json& value) {
  // Parsed files hold unsigned numbers; JSON built in code may hold signed ones.
  if (value.is_number_unsigned() && value.get<std::uint64_t>() <= 0xFFFFFFFFu) return value.get<std::uint32_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0 && value.get<std::int64_t>() <= 0xFFFFFFFF) {
    return static_cast<std::uint32_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

void require_object(const nlohmann::json& value, const JsonPath& at) {
  if (!value.is_object()) {
    throw UsageError(format_error(at.where(), "wrong type", json_type_name(value), "an object"));
  }
}

std::string string_field(const nlohmann::json& obj, const char* name, const JsonPath& at, const std::string& fallback) {
  const auto* v = find_field(obj, name);
  if (v == nullptr) return fallback;
  if (!v->is_string()) throw UsageError(format_error(at.child(name).where(), "wrong type", json_type_name(*v), "a string"));
  return v->get<std::string>();
}

std::string required_string(const nlohmann::json& obj, const char* name, const JsonPath& at) {
  const auto* v = find_field(obj, name);
  if (v == nullptr) throw UsageError(format_error(at.child(name).where(), "missing", "", "a string"));
  return string_field(obj, name, at, "");
}

bool bool_field(const nlohmann::json& obj, const char* name, const JsonPath& at, bool fallback) {
  const auto* v = find_field(obj, name);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) throw UsageError(format_error(at.child(name).where(), "wrong type", json_type_name(*v), "true or false"));
  return v->get<bool>();
}

const nlohmann::json& required_array(const nlohmann::json& obj, const char* name, const JsonPath& at) {
  const auto* v = find_field(obj, name);
  if (v == nullptr) throw UsageError(format_error(at.child(name).where(), "missing", "", "an array"));
  if (!v->is_array()) throw UsageError(format_error(at.child(name).where(), "wrong type", json_type_name(*v), "an array"));
  return *v;
}

void throw_unsupported(const JsonPath& type_at, const std::string& what, const std::string& got,
                       const std::vector<std::string>& supported) {
  throw UsageError(format_error(type_at.where(), "unsupported " + what, "'" + got + "'", "one of: " + join_names(supported),
                                "this tokenizer.json needs a component ds does not implement yet"));
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace ds::engine::tokenizer
