#include "engine/chat_template/interpreter.hpp"

#include <memory>
#include <unordered_map>

#include "common/error.hpp"
#include "engine/chat_template/filters.hpp"
#include "engine/chat_template/methods.hpp"
#include "engine/chat_template/operators.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {

namespace {

// Variables of one scope; lookups walk up to the template's top level.
struct Scope {
  std::unordered_map<std::string, Value> vars;
  const Scope* parent = nullptr;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s != nullptr; s = s->parent) {
      const auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { kNormal, kBreak, kContinue };

class Interpreter {
 public:
  explicit Interpreter(const ValueDict& context) {
    for (auto& [name, value] : make_globals().items) root_.vars[name] = std::move(value);
    for (const auto& [name, value] : context.items) root_.vars[name] = value;
  }

  std::string run(const Body& body) {
    std::string out;
    exec_body(body, root_, out);
    return out;
  }

 private:
  Flow exec_body(const Body& body, Scope& scope, std::string& out) {
    for (const auto& stmt : body) {
      const Flow flow = exec(*stmt, scope, out);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec(const Stmt& s, Scope& scope, std::string& out) {
    switch (s.kind) {
      case StmtKind::kText:
        out += s.text;
        return Flow::kNormal;
      case StmtKind::kOutput:
        out += to_output(eval(*s.expr, scope));
        return Flow::kNormal;
      case StmtKind::kIf:
        for (const auto& [condition, body] : s.branches)
          if (eval(*condition, scope).truthy()) return exec_body(body, scope, out);
        return exec_body(s.else_body, scope, out);
      case StmtKind::kFor:
        exec_for(s, scope, out);
        return Flow::kNormal;
      case StmtKind::kSet:
        exec_set(s, scope);
        return Flow::kNormal;
      case StmtKind::kSetBlock: {
        std::string captured;
        exec_body(s.body, scope, captured);
        scope.vars[s.targets[0]] = Value(std::move(captured));
        return Flow::kNormal;
      }
      case StmtKind::kMacro:
        scope.vars[s.name] = make_macro(s);
        return Flow::kNormal;
      case StmtKind::kBreak:
        return Flow::kBreak;
      case StmtKind::kContinue:
        return Flow::kContinue;
      case StmtKind::kScope:
        return exec_body(s.body, scope, out);
      case StmtKind::kCallBlock:
        out += to_output(exec_call_block(s, scope));
        return Flow::kNormal;
    }
    return Flow::kNormal;
  }

  void bind_targets(const std::vector<std::string>& targets, const Value& value, Scope& scope, std::size_t offset) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = value;
      return;
    }
    if (!value.is_list() || value.as_list().size() != targets.size()) {
      const std::string got = value.is_list() ? std::to_string(value.as_list().size()) + " values" : value.type_name();
      throw TemplateFailure(FailureKind::kRender,
                            format_error("", "cannot unpack into " + std::to_string(targets.size()) + " names", got,
                                         std::to_string(targets.size()) + " values"),
                            offset);
    }
    for (std::size_t i = 0; i < targets.size(); ++i) scope.vars[targets[i]] = value.as_list()[i];
  }

  void exec_set(const Stmt& s, Scope& scope) {
    Value value = eval(*s.expr, scope);
    if (s.attribute.empty()) {
      bind_targets(s.targets, value, scope, s.offset);
      return;
    }
    const Value* target = scope.find(s.targets[0]);
    if (target == nullptr || !target->is_namespace())
      throw TemplateFailure(FailureKind::kRender,
                            "cannot set attribute '" + s.attribute + "' on '" + s.targets[0] + "' (got " +
                                (target ? target->type_name() : std::string("Undefined")) +
                                "); expected a namespace() object",
                            s.offset);
    target->as_namespace().attributes.set(s.attribute, std::move(value));
  }

  void exec_for(const Stmt& s, Scope& scope, std::string& out) {
    const Value iterable = eval(*s.expr, scope);
    ValueList items;
    try {
      items = iterate(iterable);
    } catch (TemplateFailure& f) {
      if (!f.located()) f.set_offset(s.expr->offset);
      throw;
    }
    if (s.condition) {  // `for x in xs if cond` filters before loop.* is counted
      ValueList kept;
      for (const auto& item : items) {
        Scope probe{{}, &scope};
        bind_targets(s.targets, item, probe, s.offset);
        if (eval(*s.condition, probe).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const auto n = static_cast<std::int64_t>(items.size());
    for (std::int64_t i = 0; i < n; ++i) {
      Scope iteration{{}, &scope};
      bind_targets(s.targets, items[static_cast<std::size_t>(i)], iteration, s.offset);
      iteration.vars["loop"] = loop_object(items, i);
      if (exec_body(s.body, iteration, out) == Flow::kBreak) break;
    }
    if (n == 0) exec_body(s.else_body, scope, out);
  }

  static Value loop_object(const ValueList& items, std::int64_t i) {
    const auto n = static_cast<std::int64_t>(items.size());
    ValueDict loop;
    loop.items.reserve(12);
    loop.items.emplace_back("index", Value(i + 1));
    loop.items.emplace_back("index0", Value(i));
    loop.items.emplace_back("revindex", Value(n - i));
    loop.items.emplace_back("revindex0", Value(n - i - 1));
    loop.items.emplace_back("first", Value(i == 0));
    loop.items.emplace_back("last", Value(i == n - 1));
    loop.items.emplace_back("length", Value(n));
    loop.items.emplace_back("depth", Value(1));
    loop.items.emplace_back("depth0", Value(0));
    loop.items.emplace_back(
        "previtem", i > 0 ? items[static_cast<std::size_t>(i - 1)] : Value::undefined("there is no previous item"));
    loop.items.emplace_back(
        "nextitem", i + 1 < n ? items[static_cast<std::size_t>(i + 1)] : Value::undefined("there is no next item"));
    loop.items.emplace_back("cycle",
                            Value(Callable{"cycle", [i](const CallArgs& a) {
                                             if (a.positional.empty())
                                               fail_render("loop.cycle() needs at least one value");
                                             return a.positional[static_cast<std::size_t>(i) % a.positional.size()];
                                           }}));
    return Value(std::move(loop));
  }

  // The macro call of a {% call %} block, with the block's body passed as `caller`, rendered in
  // the scope the block is written in.
  Value exec_call_block(const Stmt& s, Scope& scope) {
    const Stmt* block = &s;
    Scope* where = &scope;
    Value caller(Callable{"caller", [this, block, where](const CallArgs&) {
                            Scope inner{{}, where};
                            std::string out;
                            exec_body(block->body, inner, out);
                            return Value(std::move(out));
                          }});
    const Expr& call = *s.expr;
    const Value callee = eval(*call.args[0], scope);
    if (!callee.is_callable())
      throw TemplateFailure(FailureKind::kRender, "'call' needs a macro (got " + callee.type_name() + ")", call.offset);
    CallArgs args = eval_args(call, scope);
    args.keyword.emplace_back("caller", std::move(caller));
    try {
      return callee.as_callable().call(args);
    } catch (TemplateFailure& f) {
      if (!f.located()) f.set_offset(call.offset);
      throw;
    }
  }

  Value make_macro(const Stmt& s) {
    const Stmt* macro = &s;
    return Value(Callable{s.name, [this, macro](const CallArgs& args) {
                            // Python stops runaway recursion with RecursionError; so do we.
                            if (macro_depth_ >= kMaxMacroDepth)
                              fail_render("macro '" + macro->name + "' recursed deeper than " +
                                          std::to_string(kMaxMacroDepth) + " calls");
                            ++macro_depth_;
                            struct Leave {
                              int& depth;
                              ~Leave() { --depth; }
                            } leave{macro_depth_};
                            Scope call{{}, &root_};
                            if (args.positional.size() > macro->params.size())
                              fail_render("macro '" + macro->name + "' takes " + std::to_string(macro->params.size()) +
                                          " arguments (got " + std::to_string(args.positional.size()) + ")");
                            for (std::size_t i = 0; i < macro->params.size(); ++i) {
                              const MacroParam& p = macro->params[i];
                              Value v;
                              if (i < args.positional.size()) v = args.positional[i];
                              for (const auto& [key, value] : args.keyword)
                                if (key == p.name) v = value;
                              if (v.is_undefined() && p.default_value) v = eval(*p.default_value, call);
                              if (v.is_undefined()) v = Value::undefined("parameter '" + p.name + "' was not provided");
                              call.vars[p.name] = std::move(v);
                            }
                            for (const auto& [key, value] : args.keyword)
                              if (key == "caller") call.vars["caller"] = value;
                            std::string out;
                            exec_body(macro->body, call, out);
                            return Value(std::move(out));
                          }});
  }

  CallArgs eval_args(const Expr& e, Scope& scope) {
    CallArgs args;
    for (std::size_t i = 1; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], scope));
    for (const auto& [name, arg] : e.kwargs) args.keyword.emplace_back(name, eval(*arg, scope));
    return args;
  }

  Value eval(const Expr& e, Scope& scope) {
    try {
      return eval_node(e, scope);
    } catch (TemplateFailure& f) {
      if (!f.located()) f.set_offset(e.offset);
      throw;
    }
  }

  Value eval_node(const Expr& e, Scope& scope) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return e.literal;
      case ExprKind::kName: {
        const Value* v = scope.find(e.name);
        return v != nullptr ? *v : Value::undefined("'" + e.name + "' is undefined");
      }
      case ExprKind::kList: {
        ValueList list;
        for (const auto& item : e.args) list.push_back(eval(*item, scope));
        return Value(std::move(list));
      }
      case ExprKind::kDict: {
        ValueDict dict;
        for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) {
          const Value key = eval(*e.args[i], scope);
          if (!key.is_string()) fail_render("dict keys must be strings here (got " + key.type_name() + ")");
          dict.set(key.as_string(), eval(*e.args[i + 1], scope));
        }
        return Value(std::move(dict));
      }
      case ExprKind::kGetAttr:
        return get_attribute(eval(*e.args[0], scope), e.name);
      case ExprKind::kGetItem:
        return get_item(eval(*e.args[0], scope), eval(*e.args[1], scope));
      case ExprKind::kSlice: {
        const auto bound = [&](std::size_t i) { return e.args[i] ? eval(*e.args[i], scope) : Value(nullptr); };
        return get_slice(eval(*e.args[0], scope), bound(1), bound(2), bound(3));
      }
      case ExprKind::kCall: {
        const Value callee = eval(*e.args[0], scope);
        // Point at what is missing (`.upper` in x.upper()), not at the parenthesis.
        if (callee.is_undefined())
          throw TemplateFailure(FailureKind::kRender, callee.undefined_hint(), e.args[0]->offset);
        if (!callee.is_callable()) fail_render("'" + callee.type_name() + "' object is not callable");
        return callee.as_callable().call(eval_args(e, scope));
      }
      case ExprKind::kFilter:
        return apply_filter(e.name, eval(*e.args[0], scope), eval_args(e, scope));
      case ExprKind::kTest: {
        const bool result = apply_test(e.name, eval(*e.args[0], scope), eval_args(e, scope));
        return Value(e.op == "not" ? !result : result);
      }
      case ExprKind::kUnary: {
        const Value v = eval(*e.args[0], scope);
        if (e.op == "not") return Value(!v.truthy());
        if (v.is_undefined()) fail_render(v.undefined_hint());
        if (!v.is_number()) fail_render("bad operand type for unary " + e.op + ": '" + v.type_name() + "'");
        if (e.op == "+") return v.is_float() ? v : Value(v.as_int());
        return v.is_float() ? Value(-v.as_double()) : Value(-v.as_int());
      }
      case ExprKind::kBinary: {
        if (e.op == "and" || e.op == "or") {  // Python returns the deciding operand, not a bool
          Value left = eval(*e.args[0], scope);
          if (left.truthy() == (e.op == "or")) return left;
          return eval(*e.args[1], scope);
        }
        const Value left = eval(*e.args[0], scope);
        const Value right = eval(*e.args[1], scope);
        if (e.op == "~") return Value(to_output(left) + to_output(right));
        return binary_op(e.op, left, right);
      }
      case ExprKind::kCompare: {
        Value left = eval(*e.args[0], scope);
        for (std::size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.args[i + 1], scope);
          if (!compare(e.ops[i], left, right)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case ExprKind::kCondition:
        if (eval(*e.args[1], scope).truthy()) return eval(*e.args[0], scope);
        if (e.args[2]) return eval(*e.args[2], scope);
        return Value::undefined("the inline if-expression evaluated to false and has no else");
    }
    return Value();
  }

  static constexpr int kMaxMacroDepth = 200;
  Scope root_;
  int macro_depth_ = 0;
};

}  // namespace

std::string render_body(const Body& body, const ValueDict& context) { return Interpreter(context).run(body); }

}  // namespace ds::engine::chat_template
