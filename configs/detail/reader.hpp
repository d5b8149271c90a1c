#pragma once
// The schema visitor that reads a Document into a Config (see schema.hpp for the protocol).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "configs/detail/document.hpp"
#include "configs/detail/enum_names.hpp"
#include "configs/detail/schema.hpp"

namespace ds::configs::detail {

/// Reads the keys of one object (a section) of the document into the matching Config fields.
class Reader {
 public:
  static constexpr bool kReads = true;

  Reader(const Document& object, std::string path, Config& root, const SourceInfo& source)
      : object_(object), path_(std::move(path)), root_(root), source_(source) {}

  template <class T>
  void field(std::string_view key, T& value, const FieldSpec& spec) {
    known_.emplace_back(key);
    const std::string path = join_path(path_, key);
    auto it = object_.find(std::string(key));
    if (it == object_.end()) {
      if (spec.required) missing_key(path, expected_text(value, spec));
      return;
    }
    const bool is_auto = it->is_string() && it->template get_ref<const std::string&>() == "auto";
    if (is_auto && spec.auto_ok) {
      root_.provenance.auto_keys.insert(path);
      root_.provenance.set_keys.insert(path);
      return;
    }
    if (is_auto && !has_auto_value(value)) auto_not_allowed(path, expected_text(value, spec));
    if (it->is_null() && is_nullable(value)) return;  // null (DeepSpeed's None) means the default
    read_value(*it, value, spec, path);
    root_.provenance.set_keys.insert(path);
  }

  template <class Body>
  void section(std::string_view key, Body&& body) {
    known_.emplace_back(key);
    auto it = object_.find(std::string(key));
    if (it == object_.end()) return;
    const std::string path = join_path(path_, key);
    if (!it->is_object()) not_a_section(path, *it);
    root_.provenance.set_keys.insert(path);
    Reader child(*it, path, root_, source_);
    body(child);
    child.finish();
  }

  void passthrough(std::span<const std::string_view> keys);

  /// Rejects keys of this object that no field, section or passthrough asked for.
  void finish() const;

 private:
  // Fields whose DeepSpeed type is Optional: null reads as the default. Strings count ("" is our None).
  template <class T>
  static bool is_nullable(const std::optional<T>&) { return true; }
  static bool is_nullable(const std::string&) { return true; }
  template <class T>
  static bool is_nullable(const T&) { return false; }

  // Enums with a real "auto" value (ds.backend) read it as that value, not as HF's "auto".
  template <class T>
  static bool has_auto_value(const std::optional<T>&) { return has_auto_value(T{}); }
  template <class T>
  static bool has_auto_value(const T&) {
    if constexpr (std::is_enum_v<T>) return parse_enum<T>("auto").has_value();
    else return false;
  }

  // One overload per field type; each checks the JSON type and the spec's bounds.
  void read_value(const Document& j, bool& out, const FieldSpec& spec, const std::string& path) const;
  void read_value(const Document& j, int& out, const FieldSpec& spec, const std::string& path) const;
  void read_value(const Document& j, std::int64_t& out, const FieldSpec& spec, const std::string& path) const;
  void read_value(const Document& j, double& out, const FieldSpec& spec, const std::string& path) const;
  void read_value(const Document& j, std::string& out, const FieldSpec& spec, const std::string& path) const;
  void read_value(const Document& j, std::array<double, 2>& out, const FieldSpec& spec, const std::string& path) const;
  void read_value(const Document& j, CheckpointPolicy& out, const FieldSpec& spec, const std::string& path) const;

  template <class T>
  void read_value(const Document& j, std::optional<T>& out, const FieldSpec& spec, const std::string& path) const {
    T value = out.value_or(T{});
    read_value(j, value, spec, path);
    out = value;
  }

  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void read_value(const Document& j, E& out, const FieldSpec&, const std::string& path) const {
    if (j.is_string()) {
      const auto& text = j.template get_ref<const std::string&>();
      if (auto parsed = parse_enum<E>(text)) {
        out = *parsed;
        return;
      }
      bad_enum(path, j, canonical_names<E>());
    }
    bad_type(path, j, expected_enum(canonical_names<E>()));
  }

  // "expected ..." wording per field type.
  static std::string expected_text(const bool&, const FieldSpec&) { return "true or false"; }
  static std::string expected_text(const int&, const FieldSpec& spec) { return expected_number(spec, true); }
  static std::string expected_text(const std::int64_t&, const FieldSpec& spec) { return expected_number(spec, true); }
  static std::string expected_text(const double&, const FieldSpec& spec) { return expected_number(spec, false); }
  static std::string expected_text(const std::string&, const FieldSpec&) { return "a string"; }
  static std::string expected_text(const std::array<double, 2>&, const FieldSpec& spec);
  static std::string expected_text(const CheckpointPolicy&, const FieldSpec&);
  template <class T>
  static std::string expected_text(const std::optional<T>&, const FieldSpec& spec) {
    return expected_text(T{}, spec);
  }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  static std::string expected_text(const E&, const FieldSpec&) {
    return expected_enum(canonical_names<E>());
  }
  static std::string expected_number(const FieldSpec& spec, bool integer);
  static std::string expected_enum(const std::vector<std::string>& names);

  [[noreturn]] void missing_key(const std::string& path, const std::string& expected) const;
  [[noreturn]] void auto_not_allowed(const std::string& path, const std::string& expected) const;
  [[noreturn]] void not_a_section(const std::string& path, const Document& value) const;
  [[noreturn]] void bad_type(const std::string& path, const Document& value, const std::string& expected) const;
  [[noreturn]] void out_of_range(const std::string& path, const Document& value, const std::string& expected) const;
  [[noreturn]] void bad_enum(const std::string& path, const Document& value, const std::vector<std::string>& names) const;
  [[noreturn]] void unknown_key(const std::string& key) const;

  const Document& object_;
  std::string path_;
  Config& root_;
  const SourceInfo& source_;
  std::vector<std::string> known_;  // every key this section's visit asked for
};

}  // namespace ds::configs::detail
