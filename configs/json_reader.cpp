// DeepSpeed JSON -> Config. DeepSpeed loads configs with hjson and rejects duplicate keys
// (runtime/config_utils.py dict_raise_error_on_duplicate_keys); we allow // and /* */ comments and
// reject duplicates the same way.
#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "configs/config_io.hpp"
#include "configs/detail/document.hpp"

namespace ds::configs {
namespace {

using detail::Document;

// Tracks the keys of each open object while parsing, to reject a key given twice.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(std::string source) : source_(std::move(source)) {}

  bool operator()(int depth, Document::parse_event_t event, Document& parsed) {
    using Event = Document::parse_event_t;
    // No real config nests deeper than a few levels; a bound keeps hostile input from exhausting
    // the stack in the recursive dump of passthrough values.
    if (depth > kMaxDepth) {
      throw ConfigError(format_error(source_, "nesting too deep", "more than " + std::to_string(kMaxDepth) + " levels",
                                     "a DeepSpeed config (a few levels)"));
    }
    switch (event) {
      case Event::object_start:
        open_.push_back({});
        break;
      case Event::array_start:
        open_.push_back({{}, "", true});
        break;
      case Event::object_end:
      case Event::array_end:
        if (!open_.empty()) open_.pop_back();
        break;
      case Event::key:
        on_key(parsed.get<std::string>());
        break;
      default:
        break;
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 64;
  struct Level {
    std::vector<std::string> keys;
    std::string current;
    bool array = false;
  };

  void on_key(const std::string& key) {
    if (open_.empty()) return;
    Level& level = open_.back();
    std::string path;  // e.g. "wandb.tags[].name"
    for (std::size_t i = 0; i + 1 < open_.size(); ++i) {
      if (open_[i].array) path += "[]";
      else path += (path.empty() ? "" : ".") + open_[i].current;
    }
    path += (path.empty() ? "" : ".") + key;
    if (std::find(level.keys.begin(), level.keys.end(), key) != level.keys.end()) {
      throw ConfigError(format_error(source_ + ": " + path, "duplicate key", "", "each key once",
                                     "DeepSpeed rejects duplicate keys too; keep the one you mean"));
    }
    level.keys.push_back(key);
    level.current = key;
  }

  std::string source_;
  std::vector<Level> open_;
};

// nlohmann's parse_error says "[json.exception.parse_error.101] parse error at line L, column C: what";
// keep "what" and put the location first, the house style.
[[noreturn]] void rethrow_syntax_error(const nlohmann::json::parse_error& e, std::string_view text,
                                       std::string_view source) {
  std::size_t byte = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
  std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + byte, '\n'));
  std::size_t line_start = text.rfind('\n', byte == 0 ? 0 : byte - 1);
  std::size_t column = line_start == std::string_view::npos || byte == 0 ? byte + 1 : byte - line_start;
  std::string what = e.what();
  if (auto colon = what.find(": ", what.find("column")); colon != std::string::npos) what = what.substr(colon + 2);
  throw ConfigError(std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column) +
                    ": invalid JSON: " + what);
}

}  // namespace

Config parse_config_json(std::string_view text, std::string_view source_name) {
  detail::SourceInfo source{std::string(source_name), false, {}};
  Document doc;
  try {
    doc = Document::parse(text.begin(), text.end(), DuplicateKeyCheck(source.name), true, true);
  } catch (const nlohmann::json::parse_error& e) {
    rethrow_syntax_error(e, text, source.name);
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range 406: a number too large for a double
    std::string what = e.what();
    if (auto bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    throw ConfigError(source.name + ": invalid JSON: " + what);
  }
  detail::normalize_legacy_keys(doc, source);
  return detail::read_document(doc, source);
}

}  // namespace ds::configs
