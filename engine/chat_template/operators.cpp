#include "engine/chat_template/operators.hpp"

#include <cmath>

#include "engine/chat_template/methods.hpp"
#include "engine/chat_template/py_string.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

[[noreturn]] void unsupported_operands(const std::string& op, const Value& a, const Value& b) {
  fail_render("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

Value repeat(const Value& seq, std::int64_t times) {
  if (seq.is_string()) {
    std::string out;
    for (std::int64_t i = 0; i < times; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  ValueList out;
  for (std::int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return Value(std::move(out));
}

// "'str object'", as Jinja names a value in its messages. Built by appending: GCC 12 warns
// (-Wrestrict, a false positive) on "'" + std::string temporaries.
std::string object_label(const Value& object) {
  std::string label = "'";
  label += object.type_name();
  label += " object'";
  return label;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Python 3.11's ZeroDivisionError wording, which Jinja passes through.
std::string zero_division_message(const std::string& op, bool as_float) {
  if (op == "/") return as_float ? "float division by zero" : "division by zero";
  if (op == "//") return as_float ? "float floor division by zero" : "integer division or modulo by zero";
  return as_float ? "float modulo" : "integer modulo by zero";
}

Value numeric(const std::string& op, const Value& a, const Value& b) {
  const bool as_float = a.is_float() || b.is_float();
  if (op == "/" || op == "//" || op == "%") {
    if ((as_float && b.as_double() == 0.0) || (!as_float && b.as_int() == 0))
      fail_render(zero_division_message(op, as_float));
  }
  if (op == "/") return Value(a.as_double() / b.as_double());
  if (as_float) {
    const double x = a.as_double(), y = b.as_double();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "//") return Value(std::floor(x / y));
    if (op == "%") return Value(x - std::floor(x / y) * y);
    return Value(std::pow(x, y));
  }
  const std::int64_t x = a.as_int(), y = b.as_int();
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "//") return Value(floor_div(x, y));
  if (op == "%") return Value(x - floor_div(x, y) * y);
  if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
  std::int64_t r = 1;
  for (std::int64_t i = 0; i < y; ++i) r *= x;
  return Value(r);
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  // Undefined refuses arithmetic with its own message ("'x' is undefined").
  if (a.is_undefined()) fail_render(a.undefined_hint());
  if (b.is_undefined()) fail_render(b.undefined_hint());
  if (a.is_number() && b.is_number()) return numeric(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
    if (a.is_list() && b.is_list()) {
      ValueList out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value(std::move(out));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
  }
  if (op == "%" && a.is_string()) fail_render("unsupported printf-style formatting ('...' % value); use ~ or format()");
  unsupported_operands(op, a, b);
}

namespace {

// a < b for the ordering operator `op` the template wrote; Python's TypeError names that operator
// and the operands in the order written, so `swapped` says that b came first (x > y is y < x).
bool ordered_less(const Value& a, const Value& b, const std::string& op, bool swapped) {
  if (a.is_undefined()) fail_render(a.undefined_hint());
  if (b.is_undefined()) fail_render(b.undefined_hint());
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 order is code point order
  if (a.is_list() && b.is_list()) {
    const auto &x = a.as_list(), &y = b.as_list();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return ordered_less(x[i], y[i], op, swapped);
    }
    return x.size() < y.size();
  }
  const Value& first = swapped ? b : a;
  const Value& second = swapped ? a : b;
  fail_render("'" + op + "' not supported between instances of '" + first.type_name() + "' and '" +
              second.type_name() + "'");
}

}  // namespace

bool value_less(const Value& a, const Value& b) { return ordered_less(a, b, "<", false); }

bool compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return values_equal(a, b);
  if (op == "!=") return !values_equal(a, b);
  if (op == "<") return ordered_less(a, b, op, false);
  if (op == ">") return ordered_less(b, a, op, true);
  if (op == "<=") return !ordered_less(b, a, op, true);
  if (op == ">=") return !ordered_less(a, b, op, false);
  if (op == "in") return contains(b, a);
  return !contains(b, a);  // "not in"
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) fail_render("'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const auto& x : container.as_list())
        if (values_equal(x, item)) return true;
      return false;
    case Value::Kind::kDict:
      return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    default:
      fail_render("argument of type '" + container.type_name() + "' is not iterable");
  }
}

Value get_attribute(const Value& object, const std::string& name) {
  if (object.is_undefined()) fail_render(object.undefined_hint());
  if (object.is_namespace()) {
    if (const Value* v = object.as_namespace().attributes.find(name)) return *v;
    return Value::undefined("'Namespace' object has no attribute '" + name + "'");
  }
  Value method = find_method(object, name);
  if (!method.is_undefined()) return method;
  if (object.is_dict()) {
    if (const Value* v = object.as_dict().find(name)) return *v;
    return Value::undefined("'dict object' has no attribute '" + name + "'");
  }
  if (object.is_none()) return Value::undefined("'None' has no attribute '" + name + "'");
  return Value::undefined(object_label(object) + " has no attribute '" + name + "'");
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) fail_render(object.undefined_hint());
  if (object.is_dict() && key.is_string()) {
    if (const Value* v = object.as_dict().find(key.as_string())) return *v;
    return get_attribute(object, key.as_string());
  }
  if ((object.is_list() || object.is_string()) && (key.is_int() || key.is_bool())) {
    std::int64_t i = key.as_int();
    if (object.is_list()) {
      const auto n = static_cast<std::int64_t>(object.as_list().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("list object has no element " + std::to_string(key.as_int()));
      return object.as_list()[static_cast<std::size_t>(i)];
    }
    const auto cps = py::code_points(object.as_string());
    const auto n = static_cast<std::int64_t>(cps.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("str object has no element " + std::to_string(key.as_int()));
    return Value(std::string(cps[static_cast<std::size_t>(i)]));
  }
  if (key.is_string()) return get_attribute(object, key.as_string());
  if (object.is_namespace() || object.is_string() || object.is_list() || object.is_dict())
    return Value::undefined(object_label(object) + " has no element " + to_repr(key));
  return Value::undefined(object_label(object) + " is not subscriptable");
}

Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step) {
  if (object.is_undefined()) fail_render(object.undefined_hint());
  const auto bound = [](const Value& v, const char* what) -> std::optional<long> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool())
      fail_render(std::string("slice ") + what + " must be an integer (got '" + v.type_name() + "')");
    return static_cast<long>(v.as_int());
  };
  const auto b = bound(start, "start"), e = bound(stop, "stop"), s = bound(step, "step");
  if (s && *s == 0) fail_render("slice step cannot be zero");
  if (object.is_string()) return Value(py::slice(object.as_string(), b, e, s));
  if (object.is_list()) {
    ValueList out;
    for (const auto i : py::slice_indices(object.as_list().size(), b, e, s)) out.push_back(object.as_list()[i]);
    return Value(std::move(out));
  }
  fail_render("'" + object.type_name() + "' object is not subscriptable");
}

ValueList iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return value.as_list();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& [key, item] : value.as_dict().items) keys.emplace_back(key);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (const auto cp : py::code_points(value.as_string())) chars.emplace_back(std::string(cp));
      return chars;
    }
    default:
      fail_render("'" + value.type_name() + "' object is not iterable");
  }
}

}  // namespace ds::engine::chat_template
