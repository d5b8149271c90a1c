// The parsed template: expression and statement nodes the interpreter walks. One node type for
// expressions and one for statements, each with the fields its kinds use, keeps the tree small
// and the interpreter a pair of switches.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat_template/value.hpp"

namespace ds::engine::chat_template {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// Expression kinds; the comment says which Expr fields each one uses.
enum class ExprKind {
  kLiteral,    ///< literal
  kName,       ///< name
  kList,       ///< args: the items (tuples are lists too)
  kDict,       ///< args: key, value, key, value, ...
  kGetAttr,    ///< args[0].name
  kGetItem,    ///< args[0][args[1]]
  kSlice,      ///< args[0][args[1]:args[2]:args[3]]; absent bounds are null
  kCall,       ///< args[0](args[1..], kwargs)
  kFilter,     ///< args[0] | name(args[1..], kwargs)
  kTest,       ///< args[0] is [not] name(args[1..]); op is "not" when negated
  kUnary,      ///< op args[0]: "-", "+", "not"
  kBinary,     ///< args[0] op args[1]: + - * / // % ** ~ and or
  kCompare,    ///< args[0] ops[0] args[1] ops[1] args[2]...: == != < <= > >= in "not in"
  kCondition,  ///< args[0] if args[1] else args[2] (args[2] null without else)
};

/// One expression node.
struct Expr {
  ExprKind kind;
  std::size_t offset = 0;  ///< byte offset in the normalized source, for error locations
  Value literal;
  std::string name;              ///< variable, attribute, filter or test name
  std::string op;                ///< operator
  std::vector<std::string> ops;  ///< kCompare's operators
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

/// Statement kinds; the comment says which Stmt fields each one uses.
enum class StmtKind {
  kText,       ///< text
  kOutput,     ///< {{ expr }}
  kIf,         ///< branches (condition, body), else_body
  kFor,        ///< for targets in expr [if condition]: body, else_body
  kSet,        ///< set targets = expr, or set targets[0].attribute = expr
  kSetBlock,   ///< set targets[0] %}body{% endset
  kMacro,      ///< macro name(params with defaults): body
  kBreak,      ///< break (loopcontrols)
  kContinue,   ///< continue (loopcontrols)
  kScope,      ///< body rendered in place: {% generation %} (Hugging Face's extension)
  kCallBlock,  ///< call expr (a macro call) %}body{% endcall: the macro sees body as caller()
};

/// A macro parameter and its default (null when required).
struct MacroParam {
  std::string name;
  ExprPtr default_value;
};

/// One statement node.
struct Stmt {
  StmtKind kind;
  std::size_t offset = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;
  std::vector<std::string> targets;
  std::string attribute;  ///< kSet on a namespace attribute
  std::string name;       ///< kMacro
  std::vector<MacroParam> params;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
};

}  // namespace ds::engine::chat_template
