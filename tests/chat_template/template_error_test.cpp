// Where a template failed: TemplateFailure's kind and offset, byte offset -> line:column (columns
// count code points), and the ninja-style message with the line and a caret under the column.
#include "engine/chat_template/template_error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ds::engine::chat_template {
namespace {

TEST(ChatTemplateTemplateError, FailRenderThrowsAnUnlocatedRenderFailure) {
  try {
    fail_render("'x' is undefined");
    FAIL() << "did not throw";
  } catch (TemplateFailure& e) {
    EXPECT_EQ(e.kind(), FailureKind::kRender);
    EXPECT_STREQ(e.what(), "'x' is undefined");
    EXPECT_FALSE(e.located());
    EXPECT_EQ(e.offset(), TemplateFailure::kNoOffset);
    e.set_offset(0);
    EXPECT_TRUE(e.located());
    EXPECT_EQ(e.offset(), 0u);
  }
  EXPECT_TRUE(TemplateFailure(FailureKind::kSyntax, "m", 3).located());
}

TEST(ChatTemplateTemplateError, LocateCountsLinesAndCodePoints) {
  const std::string source = "ab\ncd\n\t\xC3\xA9x";  // 'é' is two bytes, one column
  const auto at = [&](std::size_t offset) {
    const SourceLocation loc = locate(source, offset);
    return std::to_string(loc.line) + ":" + std::to_string(loc.column);
  };
  EXPECT_EQ(at(0), "1:1");
  EXPECT_EQ(at(2), "1:3");  // the newline itself ends line 1
  EXPECT_EQ(at(3), "2:1");
  EXPECT_EQ(at(5), "2:3");
  EXPECT_EQ(at(7), "3:2");
  EXPECT_EQ(at(9), "3:3");    // after 'é': one column for its two bytes
  EXPECT_EQ(at(100), "3:4");  // past the end: clamped to the end
  EXPECT_EQ(locate("", 0).column, 1u);
}

TEST(ChatTemplateTemplateError, LocatedMessageShowsTheLineAndACaret) {
  EXPECT_EQ(located_message("chat template", "a\n\tb{{ x }}\nc", 6, "boom"),
            "chat template:2:5: boom\n\tb{{ x }}\n\t   ^");  // the tab is kept so the caret lines up
  EXPECT_EQ(located_message("t", "\xC3\xA9{{", 2, "m"), "t:1:2: m\n\xC3\xA9{{\n ^");
  EXPECT_EQ(located_message("t", "ab\ncd", 2, "m"), "t:1:3: m\nab\n  ^");
  EXPECT_EQ(located_message("t", "ab", 2, "m"), "t:1:3: m\nab\n  ^");
  EXPECT_EQ(located_message("t", "", 0, "m"), "t:1:1: m\n\n^");
}

}  // namespace
}  // namespace ds::engine::chat_template
