// Config -> DeepSpeed JSON / TOML, and the file entry points. A writer first renders every key,
// then keeps what the user set ("auto" stays "auto") plus whatever differs from the default, so a
// parsed config is written back as written and a config built in code shows its choices.
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "configs/config_io.hpp"
#include "configs/detail/document.hpp"
#include "configs/detail/enum_names.hpp"
#include "configs/detail/schema.hpp"
#include "configs/detail/toml_writer.hpp"

namespace ds::configs {
namespace {

using detail::Document;
using detail::FieldSpec;

/// Schema visitor that renders every key of a Config into a Document.
class Writer {
 public:
  static constexpr bool kReads = false;
  Writer(Document& out, std::string path, const Config& root) : out_(out), path_(std::move(path)), root_(root) {}

  template <class T>
  void field(std::string_view key, const T& value, const FieldSpec&) {
    const std::string path = detail::join_path(path_, key);
    out_[std::string(key)] = root_.is_auto(path) ? Document("auto") : render(value);
  }
  template <class Body>
  void section(std::string_view key, Body&& body) {
    Document child = Document::object();
    Writer writer(child, detail::join_path(path_, key), root_);
    body(writer);
    out_[std::string(key)] = std::move(child);
  }
  void passthrough(std::span<const std::string_view> keys) {
    for (auto key : keys) {
      auto it = root_.passthrough.find(detail::join_path(path_, key));
      if (it != root_.passthrough.end()) out_[std::string(key)] = Document::parse(it->second);
    }
  }

 private:
  static Document render(bool v) { return v; }
  static Document render(int v) { return v; }
  static Document render(std::int64_t v) { return v; }
  static Document render(double v) { return v; }
  static Document render(const std::string& v) { return v; }
  static Document render(const std::array<double, 2>& v) { return Document::array({v[0], v[1]}); }
  static Document render(const CheckpointPolicy& v) { return to_string(v); }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  static Document render(E v) { return detail::enum_name(v); }
  template <class T>
  static Document render(const std::optional<T>& v) { return v ? render(*v) : Document(nullptr); }

  Document& out_;
  std::string path_;
  const Config& root_;
};

Document render_all(const Config& config) {
  Document out = Document::object();
  Writer writer(out, "", config);
  detail::visit_config(writer, config);
  return out;
}

// Keeps keys the user set and keys that differ from `defaults`; a kept section keeps its "type".
void prune(Document& full, const Document& defaults, const std::string& path, const Provenance& provenance) {
  Document kept = Document::object();
  for (auto& [key, value] : full.items()) {
    const std::string child = detail::join_path(path, key);
    const bool set = provenance.set_keys.count(child) > 0;
    auto def = defaults.find(key);
    if (value.is_object()) {
      prune(value, def != defaults.end() && def->is_object() ? *def : Document::object(), child, provenance);
      if (set || !value.empty()) kept[key] = std::move(value);
    } else if (set || def == defaults.end() || *def != value) {
      kept[key] = std::move(value);
    }
  }
  if (!kept.empty() && full.contains("type") && !kept.contains("type")) {
    Document with_type = Document::object();
    with_type["type"] = full["type"];
    for (auto& [key, value] : kept.items()) with_type[key] = std::move(value);
    kept = std::move(with_type);
  }
  full = std::move(kept);
}

Document render(const Config& config, const WriteOptions& options) {
  Document full = render_all(config);
  if (options.all_keys) return full;
  Config defaults;  // same optimizer/scheduler types, so parameter defaults compare like with like
  defaults.optimizer.type = config.optimizer.type;
  defaults.optimizer.params = optimizer_defaults(config.optimizer.type);
  defaults.scheduler.type = config.scheduler.type;
  prune(full, render_all(defaults), "", config.provenance);
  return full;
}

}  // namespace

std::string to_json(const Config& config, const WriteOptions& options) {
  return render(config, options).dump(options.indent) + "\n";
}

std::string to_toml(const Config& config, const WriteOptions& options) {
  return detail::write_toml(render(config, options));
}

namespace {

enum class Format { kJson, kToml };

Format format_of(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".json") return Format::kJson;
  if (ext == ".toml") return Format::kToml;
  throw ConfigError(format_error(path.string(), "unknown config format", ext.empty() ? "no extension" : "\"" + ext + "\"",
                                 "a .json or .toml file"));
}

}  // namespace

Config load_config(const std::filesystem::path& path) {
  const Format format = format_of(path);
  const std::string text = read_file(path);
  const std::string name = path.string();
  return format == Format::kJson ? parse_config_json(text, name) : parse_config_toml(text, name);
}

void save_config(const Config& config, const std::filesystem::path& path, const WriteOptions& options) {
  const Format format = format_of(path);
  write_file_atomic(path, format == Format::kJson ? to_json(config, options) : to_toml(config, options));
}

}  // namespace ds::configs
