#include "configs/overrides.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "configs/config_io.hpp"

namespace ds::configs {
namespace {

std::vector<std::string> split_path(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

nlohmann::json value_of(const std::string& text) {
  // A bare word such as `llama-3-8b` or `cpu` is not JSON; it is meant as a string.
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

}  // namespace

Override parse_override(std::string_view text, std::string_view flag) {
  std::size_t eq = text.find('=');
  const std::string where = std::string(flag) + " '" + std::string(text) + "'";
  if (eq == std::string_view::npos) {
    throw UsageError(format_error(where, "expected KEY=VALUE", std::string(text),
                                  "e.g. " + std::string(flag) + " zero_optimization.stage=2"));
  }
  Override o{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
  for (const std::string& part : split_path(o.key)) {
    if (part.empty()) {
      throw UsageError(format_error(where, "the key has an empty component", o.key,
                                    "a dotted path such as optimizer.params.lr"));
    }
  }
  return o;
}

Config apply_overrides(const Config& config, const std::vector<Override>& overrides, std::string_view source_name) {
  if (overrides.empty()) return config;
  nlohmann::json doc = nlohmann::json::parse(to_json(config));
  for (const Override& o : overrides) {
    std::vector<std::string> path = split_path(o.key);
    nlohmann::json* node = &doc;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      nlohmann::json& child = (*node)[path[i]];
      if (child.is_null()) child = nlohmann::json::object();
      if (!child.is_object()) {
        std::string prefix;
        for (std::size_t k = 0; k <= i; ++k) prefix += (k ? "." : "") + path[k];
        throw UsageError(format_error(std::string(source_name) + " " + o.key,
                                      "'" + prefix + "' holds a value, not a section", child.dump(),
                                      "override '" + prefix + "' itself"));
      }
      node = &child;
    }
    (*node)[path.back()] = value_of(o.value);
  }
  return parse_config_json(doc.dump(), source_name);
}

}  // namespace ds::configs
