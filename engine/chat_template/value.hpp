// The values a chat template computes with: Python's objects as Jinja sees them (None, bool, int,
// float, str, list, dict in insertion order), plus Jinja's Undefined, namespace() objects and
// callables. Lists and dicts are immutable and shared, so passing `messages` around is cheap.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ds::engine::chat_template {

class Value;
using ValueList = std::vector<Value>;

/// A dict that keeps insertion order (Python 3.7+ dicts do; tojson output depends on it).
struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;
  /// The value of `key`, or nullptr.
  const Value* find(std::string_view key) const;
  /// Sets `key`, keeping its place when it already exists.
  void set(const std::string& key, Value value);
};

/// Arguments of a call, a filter or a test (the filtered value itself is not among them).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  /// Positional argument `index`, else keyword `name`; Undefined when neither was given.
  Value get(std::size_t index, std::string_view name) const;
};

/// Something a template can call: a global (range, namespace, raise_exception), a bound method
/// ('x'.strip) or a macro.
struct Callable {
  std::string name;  ///< for error messages: "strip", "raise_exception"
  std::function<Value(const CallArgs&)> call;
};

/// Jinja's Undefined: a missing variable, attribute or key. Falsy, renders as "", iterates as
/// empty; using it any other way is an error that names what was missing.
struct Undefined {
  std::string hint;  ///< "'x' is undefined", "'dict object' has no attribute 'y'"
};

/// The object namespace() returns: the one mutable value, shared by reference, so
/// `{% set ns.found = true %}` inside a loop is seen after it.
struct Namespace {
  ValueDict attributes;
};

/// One template value.
class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

  Value() : data_(Undefined{}) {}
  Value(Undefined u) : data_(std::move(u)) {}
  Value(std::nullptr_t) : data_(nullptr) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(static_cast<std::int64_t>(i)) {}
  Value(std::int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(ValueList list) : data_(std::make_shared<const ValueList>(std::move(list))) {}
  Value(ValueDict dict) : data_(std::make_shared<const ValueDict>(std::move(dict))) {}
  Value(std::shared_ptr<Namespace> ns) : data_(std::move(ns)) {}
  Value(Callable fn) : data_(std::make_shared<const Callable>(std::move(fn))) {}

  /// An Undefined with the message a later misuse reports.
  static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
  /// From JSON: objects keep their key order; integers beyond int64 become floats. Throws
  /// std::invalid_argument for data nested deeper than kMaxJsonDepth (recursion has to end).
  static Value from_json(const nlohmann::ordered_json& json, int depth = 0);
  static constexpr int kMaxJsonDepth = 512;
  /// To JSON. Throws std::invalid_argument for Undefined, namespaces and callables.
  nlohmann::ordered_json to_json() const;

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  /// int, float or bool (bool is an int in Python).
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_callable() const { return kind() == Kind::kCallable; }

  bool as_bool() const { return std::get<bool>(data_); }
  /// The integer value of an int or a bool.
  std::int64_t as_int() const { return is_bool() ? (as_bool() ? 1 : 0) : std::get<std::int64_t>(data_); }
  /// The value of any number as a double.
  double as_double() const { return is_float() ? std::get<double>(data_) : static_cast<double>(as_int()); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const ValueList& as_list() const { return *std::get<std::shared_ptr<const ValueList>>(data_); }
  const ValueDict& as_dict() const { return *std::get<std::shared_ptr<const ValueDict>>(data_); }
  Namespace& as_namespace() const { return *std::get<std::shared_ptr<Namespace>>(data_); }
  const Callable& as_callable() const { return *std::get<std::shared_ptr<const Callable>>(data_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(data_).hint; }

  /// Python's truth value (empty string, list and dict are false; Undefined is false).
  bool truthy() const;
  /// Python's type name, for error messages: 'str', 'dict', 'NoneType', 'Undefined'.
  std::string type_name() const;

 private:
  std::variant<Undefined, std::nullptr_t, bool, std::int64_t, double, std::string, std::shared_ptr<const ValueList>,
               std::shared_ptr<const ValueDict>, std::shared_ptr<Namespace>, std::shared_ptr<const Callable>>
      data_;
};

/// What `{{ value }}` prints: Python's str() (None -> "None", True -> "True", lists as repr,
/// Undefined -> "").
std::string to_output(const Value& value);
/// Python's repr(): strings quoted, as inside a printed list.
std::string to_repr(const Value& value);
/// Python's repr() of a float: shortest round-trip digits, "1.0", "1e-05", "1e+20", "inf".
std::string float_repr(double value);

/// Python's ==: 1 == 1.0 == True, lists element-wise, dicts by key; Undefined equals only Undefined.
bool values_equal(const Value& a, const Value& b);

/// How to_python_json writes (json.dumps's arguments as Hugging Face's tojson passes them).
struct JsonDumpOptions {
  std::string indent;                 ///< per-level indent; used when `pretty` is set
  bool pretty = false;                ///< json.dumps(indent=...): one item per line
  std::string item_separator = ", ";  ///< json.dumps uses "," when an indent is given
  std::string key_separator = ": ";
  bool sort_keys = false;
};
/// json.dumps(value, ensure_ascii=False, ...): non-ASCII text as is, HTML characters unescaped,
/// floats as Python prints them. Throws std::invalid_argument for values JSON cannot hold.
std::string to_python_json(const Value& value, const JsonDumpOptions& options);

}  // namespace ds::engine::chat_template
