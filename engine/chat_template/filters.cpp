#include "engine/chat_template/filters.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "engine/chat_template/operators.hpp"
#include "engine/chat_template/py_string.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

Value arg(const CallArgs& args, std::size_t index, std::string_view name) { return args.get(index, name); }

// The rest of the positional arguments from `from` on (a test's arguments in select('eq', 1)).
CallArgs rest(const CallArgs& args, std::size_t from) {
  CallArgs out;
  for (std::size_t i = from; i < args.positional.size(); ++i) out.positional.push_back(args.positional[i]);
  return out;
}

std::int64_t length_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return static_cast<std::int64_t>(py::length(v.as_string()));
    case Value::Kind::kList:
      return static_cast<std::int64_t>(v.as_list().size());
    case Value::Kind::kDict:
      return static_cast<std::int64_t>(v.as_dict().items.size());
    default:
      fail_render("object of type '" + v.type_name() + "' has no len()");
  }
}

// item.a.b for attribute="a.b" (integer parts index lists), as Jinja's attribute arguments do.
Value attribute_path(const Value& item, const Value& path) {
  if (!path.is_string()) return get_item(item, path);
  Value v = item;
  std::size_t start = 0;
  const std::string& p = path.as_string();
  while (true) {
    const auto dot = p.find('.', start);
    const std::string part = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!part.empty() && part.size() < 18 && part.find_first_not_of("0123456789") == std::string::npos) {
      v = get_item(v, Value(static_cast<std::int64_t>(std::stoll(part))));
    } else {
      v = get_item(v, Value(part));
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// Python's int()/float() read decimal text only; std::stoll/stod would also take "0x1A".
bool is_decimal_text(const std::string& s) { return s.find_first_of("xX") == std::string::npos; }

Value to_int(const Value& v, const Value& fallback) {
  const Value def = fallback.is_undefined() ? Value(0) : fallback;
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return std::isfinite(v.as_double()) ? Value(static_cast<std::int64_t>(v.as_double())) : def;
  if (!v.is_string()) return def;
  const std::string s = py::strip(v.as_string(), py::StripSide::kBoth);
  if (!is_decimal_text(s)) return def;
  try {
    std::size_t used = 0;
    const long long i = std::stoll(s, &used);
    if (used == s.size()) return Value(static_cast<std::int64_t>(i));
    const double d = std::stod(s, &used);
    if (used == s.size()) return Value(static_cast<std::int64_t>(d));
  } catch (const std::exception&) {
  }
  return def;
}

Value to_float(const Value& v, const Value& fallback) {
  const Value def = fallback.is_undefined() ? Value(0.0) : fallback;
  if (v.is_number()) return Value(v.as_double());
  if (!v.is_string()) return def;
  try {
    std::size_t used = 0;
    const std::string s = py::strip(v.as_string(), py::StripSide::kBoth);
    if (!is_decimal_text(s)) return def;
    const double d = std::stod(s, &used);
    if (used == s.size()) return Value(d);
  } catch (const std::exception&) {
  }
  return def;
}

Value tojson(const Value& v, const CallArgs& args) {
  JsonDumpOptions options;
  if (arg(args, 0, "ensure_ascii").truthy())
    fail_render("tojson(ensure_ascii=true) is not supported; chat templates keep non-ASCII text as is");
  const Value indent = arg(args, 1, "indent");
  if (indent.is_int()) {
    options.pretty = true;
    options.indent = std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, indent.as_int())), ' ');
  } else if (indent.is_string()) {
    options.pretty = true;
    options.indent = indent.as_string();
  }
  if (options.pretty) options.item_separator = ",";  // json.dumps drops the space when indenting
  const Value separators = arg(args, 2, "separators");
  if (separators.is_list() && separators.as_list().size() == 2 && separators.as_list()[0].is_string() &&
      separators.as_list()[1].is_string()) {
    options.item_separator = separators.as_list()[0].as_string();
    options.key_separator = separators.as_list()[1].as_string();
  }
  options.sort_keys = arg(args, 3, "sort_keys").truthy();
  try {
    return Value(to_python_json(v, options));
  } catch (const std::invalid_argument& e) {
    fail_render(std::string("tojson: ") + e.what());
  }
}

Value indent(const Value& v, const CallArgs& args) {
  const Value width = arg(args, 0, "width");
  const std::string pad = width.is_string()
                              ? width.as_string()
                              : std::string(static_cast<std::size_t>(width.is_int() ? width.as_int() : 4), ' ');
  const bool first = arg(args, 1, "first").truthy(), blank = arg(args, 2, "blank").truthy();
  const auto lines = py::splitlines(to_output(v) + "\n");
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    if ((i > 0 || first) && (blank || !lines[i].empty())) out += pad;
    out += lines[i];
  }
  return Value(std::move(out));
}

// The sort key of sort/unique/min/max: strings compare case-insensitively unless asked not to.
Value sort_key(const Value& item, const CallArgs& args, std::size_t attribute_index) {
  const Value attribute = arg(args, attribute_index, "attribute");
  Value key = attribute.is_undefined() || attribute.is_none() ? item : attribute_path(item, attribute);
  if (key.is_string() && !arg(args, attribute_index - 1, "case_sensitive").truthy())
    return Value(py::lower(key.as_string()));
  return key;
}

Value sort(const Value& v, const CallArgs& args) {
  ValueList items = iterate(v);
  const bool reverse = arg(args, 0, "reverse").truthy();
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return value_less(sort_key(a, args, 2), sort_key(b, args, 2));
  });
  if (reverse) std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

Value extreme(const Value& v, const CallArgs& args, bool want_max) {
  const ValueList items = iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  const Value* best = &items[0];
  for (const auto& item : items) {
    const bool better = want_max ? value_less(sort_key(*best, args, 1), sort_key(item, args, 1))
                                 : value_less(sort_key(item, args, 1), sort_key(*best, args, 1));
    if (better) best = &item;
  }
  return *best;
}

Value select(const Value& v, const CallArgs& args, bool by_attribute, bool keep_matching) {
  ValueList out;
  const std::size_t test_index = by_attribute ? 1 : 0;
  const Value test = arg(args, test_index, "");
  for (const auto& item : iterate(v)) {
    const Value subject = by_attribute ? attribute_path(item, arg(args, 0, "")) : item;
    const bool matched =
        test.is_undefined() ? subject.truthy() : apply_test(to_output(test), subject, rest(args, test_index + 1));
    if (matched == keep_matching) out.push_back(item);
  }
  return Value(std::move(out));
}

Value map(const Value& v, const CallArgs& args) {
  ValueList out;
  const Value attribute = arg(args, static_cast<std::size_t>(-1), "attribute");
  for (const auto& item : iterate(v)) {
    if (!attribute.is_undefined()) {
      Value x = attribute_path(item, attribute);
      const Value def = arg(args, static_cast<std::size_t>(-1), "default");
      out.push_back(x.is_undefined() && !def.is_undefined() ? def : x);
    } else {
      const Value name = arg(args, 0, "");
      if (!name.is_string()) fail_render("map() needs a filter name or attribute=...");
      out.push_back(apply_filter(name.as_string(), item, rest(args, 1)));
    }
  }
  return Value(std::move(out));
}

// dictsort(case_sensitive=false, by='key', reverse=false): [key, value] pairs in order.
Value dictsort(const Value& v, const CallArgs& args) {
  if (!v.is_dict()) fail_render("dictsort: expected a mapping (got " + v.type_name() + ")");
  const bool by_value = to_output(arg(args, 1, "by")) == "value";
  const bool case_sensitive = arg(args, 0, "case_sensitive").truthy();
  const auto key_of = [&](const std::pair<std::string, Value>& item) {
    const Value k = by_value ? item.second : Value(item.first);
    return k.is_string() && !case_sensitive ? Value(py::lower(k.as_string())) : k;
  };
  auto items = v.as_dict().items;
  std::stable_sort(items.begin(), items.end(),
                   [&](const auto& a, const auto& b) { return value_less(key_of(a), key_of(b)); });
  if (arg(args, 2, "reverse").truthy()) std::reverse(items.begin(), items.end());
  ValueList out;
  for (auto& [key, value] : items) out.emplace_back(ValueList{Value(key), std::move(value)});
  return Value(std::move(out));
}

// escape / e: HTML-escaped text, as markupsafe writes it.
std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Value unique(const Value& v, const CallArgs& args) {
  ValueList out, seen;
  for (const auto& item : iterate(v)) {
    const Value key = sort_key(item, args, 1);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value(std::move(out));
}

Value sum(const Value& v, const CallArgs& args) {
  const Value attribute = arg(args, 0, "attribute");
  Value total = arg(args, 1, "start");
  if (total.is_undefined()) total = Value(0);
  for (const auto& item : iterate(v))
    total = binary_op("+", total, attribute.is_undefined() ? item : attribute_path(item, attribute));
  return total;
}

Value round(const Value& v, const CallArgs& args) {
  if (!v.is_number()) fail_render("round: expected a number (got " + v.type_name() + ")");
  const std::int64_t precision = arg(args, 0, "precision").is_int() ? arg(args, 0, "precision").as_int() : 0;
  const Value method = arg(args, 1, "method");
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * scale;
  const std::string m = method.is_string() ? method.as_string() : "common";
  // 'common' is Python's round(): halves go to the even neighbour (round(2.5) == 2).
  const double r = m == "floor" ? std::floor(x) : m == "ceil" ? std::ceil(x) : std::nearbyint(x);
  return Value(r / scale);
}

}  // namespace

const std::vector<std::string>& filter_names() {
  static const std::vector<std::string> names = {
      "abs",   "attr",   "capitalize", "count",      "d",       "default", "dictsort", "e",    "escape", "first",
      "float", "indent", "int",        "items",      "join",    "last",    "length",   "list", "lower",  "map",
      "max",   "min",    "reject",     "rejectattr", "replace", "reverse", "round",    "safe", "select", "selectattr",
      "sort",  "string", "sum",        "title",      "tojson",  "trim",    "unique",   "upper"};
  return names;
}

const std::vector<std::string>& test_names() {
  static const std::vector<std::string> names = {
      "boolean",  "callable", "defined", "divisibleby", "eq",        "equalto", "even",     "false",
      "float",    "ge",       "gt",      "greaterthan", "in",        "integer", "iterable", "le",
      "lessthan", "lower",    "lt",      "mapping",     "ne",        "none",    "number",   "odd",
      "sameas",   "sequence", "string",  "true",        "undefined", "upper"};
  return names;
}

Value apply_filter(const std::string& name, const Value& v, const CallArgs& a) {
  if (name == "abs") {
    if (v.is_float()) return Value(std::fabs(v.as_double()));
    if (v.is_number()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    fail_render("bad operand type for abs(): '" + v.type_name() + "'");
  }
  if (name == "attr") return get_attribute(v, to_output(arg(a, 0, "name")));
  if (name == "capitalize") return Value(py::capitalize(to_output(v)));
  if (name == "count" || name == "length") return Value(length_of(v));
  if (name == "d" || name == "default") {
    const Value fallback = arg(a, 0, "default_value");
    if (v.is_undefined() || (arg(a, 1, "boolean").truthy() && !v.truthy()))
      return fallback.is_undefined() ? Value("") : fallback;
    return v;
  }
  if (name == "dictsort") return dictsort(v, a);
  if (name == "e" || name == "escape") return Value(escape_html(to_output(v)));
  if (name == "first" || name == "last") {
    const ValueList items = iterate(v);
    if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "float") return to_float(v, arg(a, 0, "default"));
  if (name == "indent") return indent(v, a);
  if (name == "int") return to_int(v, arg(a, 0, "default"));
  if (name == "items") {
    if (v.is_undefined()) return Value(ValueList{});
    if (!v.is_dict()) fail_render("items: expected a mapping (got " + v.type_name() + ")");
    ValueList out;
    for (const auto& [key, item] : v.as_dict().items) out.emplace_back(ValueList{Value(key), item});
    return Value(std::move(out));
  }
  if (name == "join") {
    const Value sep = arg(a, 0, "d"), attribute = arg(a, 1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v)) {
      out +=
          (first ? "" : to_output(sep)) + to_output(attribute.is_undefined() ? item : attribute_path(item, attribute));
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "list") return Value(iterate(v));
  if (name == "lower") return Value(py::lower(to_output(v)));
  if (name == "upper") return Value(py::upper(to_output(v)));
  if (name == "title") return Value(py::jinja_title(to_output(v)));
  if (name == "map") return map(v, a);
  if (name == "max" || name == "min") return extreme(v, a, name == "max");
  if (name == "select" || name == "reject") return select(v, a, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return select(v, a, true, name == "selectattr");
  if (name == "replace") {
    const Value count = arg(a, 2, "count");
    return Value(py::replace(to_output(v), to_output(arg(a, 0, "old")), to_output(arg(a, 1, "new")),
                             count.is_int() ? static_cast<long>(count.as_int()) : -1));
  }
  if (name == "reverse") {
    if (v.is_string()) return Value(py::slice(v.as_string(), std::nullopt, std::nullopt, -1));
    ValueList items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "round") return round(v, a);
  if (name == "safe") return v;
  if (name == "sort") return sort(v, a);
  if (name == "string") return Value(to_output(v));
  if (name == "sum") return sum(v, a);
  if (name == "tojson") return tojson(v, a);
  if (name == "trim") {
    const Value chars = arg(a, 0, "chars");
    return Value(py::strip(to_output(v), py::StripSide::kBoth,
                           chars.is_string() ? std::optional<std::string>(chars.as_string()) : std::nullopt));
  }
  if (name == "unique") return unique(v, a);
  fail_render("no filter named '" + name + "'");
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& a) {
  const Value other = arg(a, 0, "");
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable" || name == "sequence") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "lower") return v.is_string() && py::lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && py::upper(v.as_string()) == v.as_string();
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!v.is_int() && !v.is_bool()) fail_render("test '" + name + "' needs an integer (got " + v.type_name() + ")");
    const std::int64_t divisor = name == "divisibleby" ? (other.is_int() ? other.as_int() : 0) : 2;
    if (divisor == 0) fail_render("divisibleby needs a non-zero integer argument");
    const bool divisible = v.as_int() % divisor == 0;
    return name == "odd" ? !divisible : divisible;
  }
  if (name == "eq" || name == "equalto") return values_equal(v, other);
  if (name == "ne") return !values_equal(v, other);
  if (name == "lt" || name == "lessthan") return value_less(v, other);
  if (name == "gt" || name == "greaterthan") return value_less(other, v);
  if (name == "le") return !value_less(other, v);
  if (name == "ge") return !value_less(v, other);
  if (name == "in") return contains(other, v);
  if (name == "sameas") {
    if (v.kind() != other.kind()) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.is_bool()) return v.as_bool() == other.as_bool();
    return values_equal(v, other) && (v.is_int() || v.is_string());
  }
  fail_render("no test named '" + name + "'");
}

}  // namespace ds::engine::chat_template
