// Python's operators and element access on template values: + - * / // % ** (numbers, and +/*
// on strings and lists), comparisons, `in`, obj.attr, obj[key], obj[a:b:c], iteration. Errors
// read like Python's ("unsupported operand type(s) for +: 'str' and 'int'").
#pragma once
#include <optional>
#include <string>

#include "engine/chat_template/value.hpp"

namespace ds::engine::chat_template {

/// a op b for op in + - * / // % **. Throws TemplateFailure (kRender) for types Python rejects.
Value binary_op(const std::string& op, const Value& a, const Value& b);
/// Python's a < b for numbers, strings and lists; throws TemplateFailure (kRender) otherwise.
bool value_less(const Value& a, const Value& b);
/// a op b for op in == != < <= > >= in "not in".
bool compare(const std::string& op, const Value& a, const Value& b);
/// `item in container`: substring, list member, dict key; false for Undefined.
bool contains(const Value& container, const Value& item);

/// obj.name: a dict's key or method, a string's method, a namespace's attribute; Undefined
/// (with the hint Jinja gives) when missing. Throws when `object` itself is Undefined.
Value get_attribute(const Value& object, const std::string& name);
/// obj[key]: dict key (then method), list or string index (negative from the end).
Value get_item(const Value& object, const Value& key);
/// obj[start:stop:step] on a list or a string.
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);

/// The items `for` walks: list items, dict keys, string characters; nothing for Undefined.
/// Throws for None and numbers.
ValueList iterate(const Value& value);

}  // namespace ds::engine::chat_template
