#include "bench/output.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/run_ds.hpp"

namespace {

using namespace ds::bench;

Comparison sample_comparison() {
  Comparison cmp;
  cmp.baseline_name = "main <&> \"quoted\"";
  CaseComparison slow;
  slow.name = "core/slow";
  slow.unit = "s";
  slow.baseline_median = 1e-3;
  slow.now_median = 1.3e-3;
  slow.ratio = 1.3;
  slow.p_value = 1e-6;
  slow.verdict = Verdict::kRegression;
  slow.note = "p=1.0e-06, +30.0%";
  CaseComparison same = slow;
  same.name = "estimate/same";
  same.now_median = 1e-3;
  same.ratio = 1;
  same.verdict = Verdict::kUnchanged;
  same.note = "p=0.5 | (not significant)";
  CaseComparison fresh = slow;
  fresh.name = "core/new";
  fresh.baseline_median.reset();
  fresh.verdict = Verdict::kNoBaseline;
  cmp.cases = {same, slow, fresh};
  cmp.skipped = {{"estimate/error-vs-measured", "no trials"}};
  return cmp;
}

// Parsed by Python's XML parser, which refuses anything not well-formed; prints the counts.
TEST(Output, JunitIsWellFormedAndCountsFailures) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const auto path = std::filesystem::temp_directory_path() / ("ds-bench-junit-" + std::to_string(::getpid()) + ".xml");
  std::ofstream(path) << comparison_junit(sample_comparison());
  const auto r = ds::test::run_program(
      "/usr/bin/python3",
      "-c 'import sys, xml.etree.ElementTree as ET; s = ET.parse(sys.argv[1]).getroot().find(\"testsuite\"); "
      "print(s.get(\"tests\"), s.get(\"failures\"), s.get(\"skipped\"), len(s.findall(\"testcase\")), "
      "[c.get(\"name\") for c in s.findall(\"testcase\") if c.find(\"failure\") is not None], s.get(\"name\"))' '" +
          path.string() + "'");
  std::filesystem::remove(path);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "4 1 2 4 ['core/slow'] ds bench vs main <&> \"quoted\"\n");
}

TEST(Output, MarkdownPutsRegressionsFirstAndEscapesPipes) {
  const std::string md = comparison_markdown(sample_comparison());
  EXPECT_EQ(md.rfind("### :x: ds bench: 1 regression(s)", 0), 0u) << md;
  const auto slow = md.find("| `core/slow` | 1 ms | 1.3 ms | 1.300x | **regression** |");
  const auto same = md.find("| `estimate/same`");
  ASSERT_NE(slow, std::string::npos) << md;
  EXPECT_LT(slow, same);
  EXPECT_NE(md.find("p=0.5 \\| (not significant)"), std::string::npos);
}

TEST(Output, TextAndJson) {
  const auto cmp = sample_comparison();
  const std::string text = render_comparison(cmp);
  EXPECT_NE(text.find("1 regressed, 0 improved, 1 unchanged, 1 not compared"), std::string::npos) << text;
  EXPECT_NE(text.find("skipped estimate/error-vs-measured: no trials"), std::string::npos);
  const auto j = comparison_json(cmp);
  EXPECT_TRUE(j["regressed"].get<bool>());
  EXPECT_EQ(j["cases"][1]["verdict"], "regression");
  EXPECT_TRUE(j["cases"][2]["baseline_median"].is_null());
}

TEST(Output, ValuesInTheirUnits) {
  EXPECT_EQ(format_value(1.5e-3, "s"), "1.5 ms");
  EXPECT_EQ(format_value(2.5e-6, "s"), "2.5 us");
  EXPECT_EQ(format_value(12, "s"), "12 s");
  EXPECT_EQ(format_value(5.48e6, "tokens/s"), "5.48 M tokens/s");
  EXPECT_EQ(format_value(10955, "tokens"), "10955 tokens");
  EXPECT_EQ(format_value(0.0123, "rel error"), "0.0123 rel error");
}

}  // namespace
