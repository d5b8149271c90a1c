// A small TOML emitter for config documents. toml++ can serialise too, but it sorts keys and prints
// floats with 17 digits (0.90000000000000002); configs read better in schema order with the
// shortest round-trip float text, the way the JSON writer shows them.
#include "configs/detail/toml_writer.hpp"

#include <charconv>
#include <cstdio>

namespace ds::configs::detail {
namespace {

bool bare_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string key_text(const std::string& key) { return bare_key(key) ? key : quote(key); }

std::string float_text(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  if (text == "inf") return "inf";
  if (text == "-inf") return "-inf";
  if (text.find_first_of(".en") == std::string::npos) text += ".0";  // keep it a float in TOML
  return text;
}

// A value written on one line: scalars, arrays, and tables nested in arrays (inline tables).
std::string inline_value(const Document& value) {
  if (value.is_string()) return quote(value.get<std::string>());
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_float()) return float_text(value.get<double>());
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > std::uint64_t{INT64_MAX}) {
    return float_text(value.get<double>());
  }
  if (value.is_number()) return std::to_string(value.get<std::int64_t>());
  std::string out;
  const bool array = value.is_array();
  for (const auto& [key, element] : value.items()) {
    if (element.is_null()) continue;  // TOML has no null
    if (!out.empty()) out += ", ";
    out += array ? inline_value(element) : key_text(key) + " = " + inline_value(element);
  }
  return array ? "[" + out + "]" : "{ " + out + (out.empty() ? "}" : " }");
}

void write_table(const Document& table, const std::string& header, std::string& out) {
  if (!header.empty()) out += (out.empty() ? "[" : "\n[") + header + "]\n";
  for (const auto& [key, value] : table.items()) {
    if (value.is_null() || value.is_object()) continue;
    out += key_text(key) + " = " + inline_value(value) + "\n";
  }
  for (const auto& [key, value] : table.items()) {
    if (value.is_object()) write_table(value, header.empty() ? key_text(key) : header + "." + key_text(key), out);
  }
}

}  // namespace

std::string write_toml(const Document& table) {
  std::string out;
  write_table(table, "", out);
  return out;
}

}  // namespace ds::configs::detail
