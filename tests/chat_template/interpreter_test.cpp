// The interpreter on parsed templates: Python's short-circuiting, loop variables, scoping of
// macros and loops, globals under the context, and where a failing expression is reported.
// Expected output is what Jinja2 3.1 renders with trim_blocks and lstrip_blocks on (Debian's
// python3-jinja2); where ds words a failure its own way the Jinja message is quoted beside it.
#include "engine/chat_template/interpreter.hpp"

#include <gtest/gtest.h>

#include <string>

#include "engine/chat_template/lexer.hpp"
#include "engine/chat_template/parser.hpp"
#include "engine/chat_template/template_error.hpp"

namespace ds::engine::chat_template {
namespace {

std::string render(const std::string& source, const ValueDict& context = {}) {
  return render_body(parse_template(tokenize(source)), context);
}

// "<offset>: <message>" of the kRender failure rendering `source`, or what it rendered.
std::string failure(const std::string& source) {
  try {
    return "rendered: " + render(source);
  } catch (const TemplateFailure& e) {
    if (e.kind() != FailureKind::kRender) return std::string("other failure: ") + e.what();
    return std::to_string(e.offset()) + ": " + e.what();
  }
}

TEST(ChatTemplateInterpreter, ContextWinsOverGlobals) {
  ValueDict context;
  context.set("range", 5);
  EXPECT_EQ(render("{{ range }}", context), "5");
  EXPECT_EQ(render("{{ range(2)|list }}"), "[0, 1]");
}

TEST(ChatTemplateInterpreter, AndOrAndChainedComparisonsShortCircuit) {
  // x is undefined: x.y would fail if it were evaluated.
  EXPECT_EQ(render("{{ 0 or '' or 'z' }}|{{ [] and 1 }}|{{ 1 or x.y }}|{{ 3 < 2 < x.y }}|{{ 1 < 2 > 1 }}"),
            "z|[]|1|False|True");
  EXPECT_EQ(render("{{ +true }}|{{ -(1.5) }}|{{ not none }}"), "1|-1.5|True");
}

TEST(ChatTemplateInterpreter, LoopVariablesAndUnpacking) {
  EXPECT_EQ(render("{% for x in 'abc' %}{{ loop.revindex0 }}{{ loop.nextitem }}{{ loop.depth }}{% endfor %}"),
            "2b11c101");
  EXPECT_EQ(render("{% for a, b in [[1, 2], [3, 4]] %}{{ a }}{{ b }}{% endfor %}"), "1234");
  EXPECT_EQ(render("{% for x in [3, 1] %}{% set y = x %}{% endfor %}[{{ y }}]"), "[]");  // y stays in the loop
}

TEST(ChatTemplateInterpreter, MacrosSeeTopLevelVariablesAndTheirArgumentsOnly) {
  EXPECT_EQ(render("{% set g = 'G' %}{% macro m() %}{{ g }}{{ i }}{% endmacro %}"
                   "{% for i in [1] %}{{ m() }}{% endfor %}"),
            "G");
  EXPECT_EQ(render("{% macro m(a, b) %}[{{ b }}]{% set z = 1 %}{% endmacro %}{{ m(1) }}{{ z }}"), "[]");
  EXPECT_EQ(render("{% macro outer() %}<{{ caller() }}>{% endmacro %}{% set v = 7 %}"
                   "{% call outer() %}v={{ v }}{% endcall %}"),
            "<v=7>");
}

TEST(ChatTemplateInterpreter, FailuresPointAtTheFailingExpression) {
  EXPECT_EQ(failure("{{ 'a'.nope() }}"), "6: 'str object' has no attribute 'nope'");
  EXPECT_EQ(failure("{{ nope() }}"), "3: 'nope' is undefined");
  EXPECT_EQ(failure("{{ 1() }}"), "4: 'int' object is not callable");
  EXPECT_EQ(failure("{{ -'a' }}"), "3: bad operand type for unary -: 'str'");
  // Jinja: "not enough values to unpack (expected 2, got 1)".
  EXPECT_EQ(failure("{% set a, b = [1] %}"), "0: cannot unpack into 2 names (got 1 values); expected 2 values");
  // Jinja: "cannot assign attribute on non-namespace object".
  EXPECT_EQ(failure("x{% set x = 1 %}{% set x.a = 2 %}"),
            "16: cannot set attribute 'a' on 'x' (got int); expected a namespace() object");
  // Jinja: "macro 'f' takes not more than 1 argument(s)".
  EXPECT_EQ(failure("{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}"), "34: macro 'f' takes 1 arguments (got 2)");
  // Jinja: "no items for cycling given".
  EXPECT_EQ(failure("{% for x in [1] %}{{ loop.cycle() }}{% endfor %}"), "31: loop.cycle() needs at least one value");
  EXPECT_EQ(failure("{% call nope() %}{% endcall %}"), "12: 'call' needs a macro (got Undefined)");
  // Jinja prints {1: 2}; here dict keys are strings, as JSON's are.
  EXPECT_EQ(failure("{{ {1: 2} }}"), "3: dict keys must be strings here (got int)");
}

TEST(ChatTemplateInterpreter, RaiseExceptionIsNotARenderFailure) {
  try {
    render("{{ raise_exception('no system role') }}");
    FAIL() << "rendered";
  } catch (const TemplateFailure& e) {
    EXPECT_EQ(e.kind(), FailureKind::kRaised);
    EXPECT_STREQ(e.what(), "no system role");
  }
}

}  // namespace
}  // namespace ds::engine::chat_template
