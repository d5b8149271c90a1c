#include "engine/chat_template/methods.hpp"

#include <ctime>
#include <memory>

#include "engine/chat_template/operators.hpp"
#include "engine/chat_template/py_string.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

Value arg(const CallArgs& args, std::size_t index, std::string_view name) { return args.get(index, name); }

std::optional<std::string> optional_string(const Value& v, const std::string& method) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  if (!v.is_string()) fail_render(method + "() argument must be str or None, not " + v.type_name());
  return v.as_string();
}

const std::string& string_arg(const Value& v, const std::string& method) {
  if (!v.is_string()) fail_render(method + "() argument must be str, not " + v.type_name());
  return v.as_string();
}

long int_arg(const Value& v, long fallback, const std::string& method) {
  if (v.is_undefined() || v.is_none()) return fallback;
  if (!v.is_int() && !v.is_bool()) fail_render(method + "() argument must be int, not " + v.type_name());
  return static_cast<long>(v.as_int());
}

ValueList strings(const std::vector<std::string>& parts) {
  ValueList out;
  out.reserve(parts.size());
  for (const auto& p : parts) out.emplace_back(p);
  return out;
}

bool affix_matches(const std::string& s, const Value& affix, bool prefix, const std::string& method) {
  const auto test = [&](const Value& a) {
    const std::string& x = string_arg(a, method);
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) {
    for (const auto& a : affix.as_list())
      if (test(a)) return true;
    return false;
  }
  return test(affix);
}

// str.format with {} / {0} / {name} fields and {{ }} escapes; format specs are not supported.
std::string format(const std::string& pattern, const CallArgs& args) {
  std::string out;
  std::size_t auto_index = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if ((c == '{' || c == '}') && i + 1 < pattern.size() && pattern[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const auto close = pattern.find('}', i);
    if (close == std::string::npos) fail_render("format(): single '{' encountered in format string");
    const std::string field = pattern.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!") != std::string::npos)
      fail_render("format(): format specs and conversions are not supported (got '{" + field + "}')");
    Value v;
    if (field.empty())
      v = arg(args, auto_index++, "");
    else if (field.size() < 18 && field.find_first_not_of("0123456789") == std::string::npos)
      v = arg(args, std::stoul(field), "");
    else
      v = arg(args, static_cast<std::size_t>(-1), field.c_str());
    if (v.is_undefined()) fail_render("format(): no argument for field '{" + field + "}'");
    out += to_output(v);
    i = close;
  }
  return out;
}

Value string_method(const std::string& s, const std::string& name, const CallArgs& a) {
  using py::StripSide;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const auto side = name == "strip" ? StripSide::kBoth : name == "lstrip" ? StripSide::kLeft : StripSide::kRight;
    return Value(py::strip(s, side, optional_string(arg(a, 0, "chars"), name)));
  }
  if (name == "startswith" || name == "endswith")
    return Value(affix_matches(s, arg(a, 0, ""), name == "startswith", name));
  if (name == "split" || name == "rsplit") {
    const auto sep = optional_string(arg(a, 0, "sep"), name);
    if (sep && sep->empty()) fail_render(name + "(): empty separator");
    const long maxsplit = int_arg(arg(a, 1, "maxsplit"), -1, name);
    return Value(strings(name == "split" ? py::split(s, sep, maxsplit) : py::rsplit(s, sep, maxsplit)));
  }
  if (name == "splitlines") return Value(strings(py::splitlines(s)));
  if (name == "upper") return Value(py::upper(s));
  if (name == "lower") return Value(py::lower(s));
  if (name == "title") return Value(py::title(s));
  if (name == "capitalize") return Value(py::capitalize(s));
  if (name == "replace")
    return Value(py::replace(s, string_arg(arg(a, 0, "old"), name), string_arg(arg(a, 1, "new"), name),
                             int_arg(arg(a, 2, "count"), -1, name)));
  if (name == "find") {
    const auto pos = s.find(string_arg(arg(a, 0, "sub"), name));
    return Value(pos == std::string::npos ? std::int64_t{-1} : static_cast<std::int64_t>(py::length(s.substr(0, pos))));
  }
  if (name == "count") {
    const std::string& sub = string_arg(arg(a, 0, "sub"), name);
    if (sub.empty()) return Value(static_cast<std::int64_t>(py::length(s) + 1));
    std::int64_t n = 0;
    for (auto pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size())) ++n;
    return Value(n);
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const auto& item : iterate(arg(a, 0, "iterable"))) {
      if (!item.is_string()) fail_render("join(): sequence item must be str, not " + item.type_name());
      out += (first ? "" : s) + item.as_string();
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "format") return Value(format(s, a));
  if (name == "isdigit") return Value(!s.empty() && s.find_first_not_of("0123456789") == std::string::npos);
  if (name == "isspace") return Value(!s.empty() && py::strip(s, StripSide::kBoth).empty());
  return Value::undefined("'str object' has no attribute '" + name + "'");
}

Value dict_method(const Value& d, const std::string& name, const CallArgs& a) {
  const ValueDict& dict = d.as_dict();
  if (name == "get") {
    const Value key = arg(a, 0, "key");
    const Value* v = key.is_string() ? dict.find(key.as_string()) : nullptr;
    if (v != nullptr) return *v;
    const Value fallback = arg(a, 1, "default");
    return fallback.is_undefined() ? Value(nullptr) : fallback;
  }
  ValueList out;
  for (const auto& [key, value] : dict.items) {
    if (name == "items")
      out.emplace_back(ValueList{Value(key), value});
    else if (name == "keys")
      out.emplace_back(key);
    else
      out.push_back(value);
  }
  return Value(std::move(out));
}

bool is_string_method(const std::string& name) {
  static const char* const names[] = {"strip",      "lstrip", "rstrip", "startswith", "endswith",   "split",   "rsplit",
                                      "splitlines", "upper",  "lower",  "title",      "capitalize", "replace", "find",
                                      "count",      "join",   "format", "isdigit",    "isspace"};
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

Value global_range(const CallArgs& a) {
  std::vector<long> bounds;
  for (const auto& v : a.positional) bounds.push_back(int_arg(v, 0, "range"));
  if (bounds.empty() || bounds.size() > 3) fail_render("range() takes 1 to 3 integer arguments");
  const long start = bounds.size() == 1 ? 0 : bounds[0];
  const long stop = bounds.size() == 1 ? bounds[0] : bounds[1];
  const long step = bounds.size() == 3 ? bounds[2] : 1;
  if (step == 0) fail_render("range() arg 3 must not be zero");
  ValueList out;
  for (long i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(static_cast<std::int64_t>(i));
  return Value(std::move(out));
}

ValueDict keyword_dict(const CallArgs& a, const std::string& function) {
  ValueDict dict;
  for (const auto& v : a.positional) {
    if (!v.is_dict()) fail_render(function + "() takes keyword arguments or one dict (got " + v.type_name() + ")");
    for (const auto& [key, item] : v.as_dict().items) dict.set(key, item);
  }
  for (const auto& [key, item] : a.keyword) dict.set(key, item);
  return dict;
}

}  // namespace

Value find_method(const Value& object, const std::string& name) {
  if (object.is_string() && is_string_method(name)) {
    const std::string s = object.as_string();
    return Value(Callable{name, [s, name](const CallArgs& a) { return string_method(s, name, a); }});
  }
  if (object.is_dict() && (name == "get" || name == "items" || name == "keys" || name == "values")) {
    return Value(Callable{name, [object, name](const CallArgs& a) { return dict_method(object, name, a); }});
  }
  return Value();
}

ValueDict make_globals() {
  ValueDict globals;
  globals.set("range", Value(Callable{"range", global_range}));
  globals.set("namespace", Value(Callable{"namespace", [](const CallArgs& a) {
                                            auto ns = std::make_shared<Namespace>();
                                            ns->attributes = keyword_dict(a, "namespace");
                                            return Value(std::move(ns));
                                          }}));
  globals.set("dict", Value(Callable{"dict", [](const CallArgs& a) { return Value(keyword_dict(a, "dict")); }}));
  globals.set("raise_exception", Value(Callable{"raise_exception", [](const CallArgs& a) -> Value {
                                                  throw TemplateFailure(FailureKind::kRaised,
                                                                        to_output(arg(a, 0, "message")));
                                                }}));
  globals.set("strftime_now", Value(Callable{"strftime_now", [](const CallArgs& a) {
                                               const std::string& fmt = string_arg(arg(a, 0, "format"), "strftime_now");
                                               const std::time_t now = std::time(nullptr);
                                               std::tm local{};
                                               localtime_r(&now, &local);
                                               char buf[256];
                                               const std::size_t n =
                                                   std::strftime(buf, sizeof buf, fmt.c_str(), &local);
                                               return Value(std::string(buf, n));
                                             }}));
  return globals;
}

}  // namespace ds::engine::chat_template
