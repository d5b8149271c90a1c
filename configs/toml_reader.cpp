// TOML -> Config: the same keys as DeepSpeed JSON, sections as tables. The TOML tree is converted
// to the JSON document the schema walk reads, recording each key's line for located errors.
#include <cmath>
#include <sstream>
#include <string>

#include <toml++/toml.h>

#include "common/error.hpp"
#include "configs/config_io.hpp"
#include "configs/detail/document.hpp"

namespace ds::configs {
namespace {

using detail::Document;
using detail::SourceInfo;

Document convert(const toml::node& node, const std::string& path, SourceInfo& source);

Document convert_table(const toml::table& table, const std::string& path, SourceInfo& source) {
  Document out = Document::object();
  for (const auto& [key, value] : table) {
    const std::string child = detail::join_path(path, key.str());
    source.lines[child] = static_cast<int>(key.source().begin.line ? key.source().begin.line : value.source().begin.line);
    out[std::string(key.str())] = convert(value, child, source);
  }
  return out;
}

Document convert(const toml::node& node, const std::string& path, SourceInfo& source) {
  switch (node.type()) {
    case toml::node_type::table: return convert_table(*node.as_table(), path, source);
    case toml::node_type::array: {
      Document out = Document::array();
      for (const auto& element : *node.as_array()) out.push_back(convert(element, path, source));
      return out;
    }
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: {
      const double value = node.as_floating_point()->get();
      if (!std::isfinite(value)) {  // JSON, and so DeepSpeed, has no inf or nan
        throw ConfigError(format_error(detail::where(source, path), "not a finite number",
                                       std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf"), "a finite number"));
      }
      return value;
    }
    case toml::node_type::boolean: return node.as_boolean()->get();
    default: {
      std::ostringstream text;
      if (node.is_date()) text << *node.as_date();
      else if (node.is_time()) text << *node.as_time();
      else if (node.is_date_time()) text << *node.as_date_time();
      throw ConfigError(format_error(detail::where(source, path), "dates and times have no meaning in a ds config",
                                     text.str(), "a number, string, boolean, array or table"));
    }
  }
}

}  // namespace

Config parse_config_toml(std::string_view text, std::string_view source_name) {
  SourceInfo source{std::string(source_name), true, {}};
  toml::table table;
  try {
    table = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw ConfigError(source.name + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
                      ": invalid TOML: " + std::string(e.description()));
  }
  Document doc = convert_table(table, "", source);
  detail::normalize_legacy_keys(doc, source);
  return detail::read_document(doc, source);
}

}  // namespace ds::configs
