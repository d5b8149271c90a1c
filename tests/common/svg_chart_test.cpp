#include "common/svg_chart.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <regex>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace ds {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using L = SvgChartLayout;

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// Checks that every start tag has its end tag in order; returns "" or what is wrong.
std::string unbalanced_tags(const std::string& xml) {
  std::vector<std::string> open;
  for (auto lt = xml.find('<'); lt != std::string::npos; lt = xml.find('<', lt + 1)) {
    const auto gt = xml.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag at " + std::to_string(lt);
    const std::string tag = xml.substr(lt + 1, gt - lt - 1);
    if (tag.empty() || tag[0] == '?') continue;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return "unexpected </" + tag.substr(1) + ">";
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

// Loss over 10 steps with one skipped step, and memory in bytes: the chart ds train draws.
std::vector<ChartPanel> training_panels() {
  ChartPanel loss{"Loss", "loss", "", {{"train", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {4, 3.5, 3.1, kNaN, 2.7, 2.5, 2.4, 2.3, 2.25, 2.2}},
                                       {"eval", {5, 10}, {2.9, 2.4}}}};
  const double gib = 1024.0 * 1024 * 1024;
  ChartPanel memory{"Memory", "peak", "bytes", {{"peak <allocated>", {1, 10}, {2.5 * gib, 3.2 * gib}}}};
  return {loss, memory};
}

}  // namespace

TEST(SvgChart, TagsAreBalanced) {
  const auto svg = svg_chart("Training \"run\" <1>", "step", training_panels());
  EXPECT_EQ(unbalanced_tags(svg), "");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(count(svg, "<g class=\"panel\">"), 2);
  EXPECT_EQ(unbalanced_tags("<a><b></a>"), "unexpected </a>");  // the checker itself can fail
}

// An independent XML parser (Python's ElementTree) must accept the written file.
TEST(SvgChart, WrittenFileParsesWithPythonElementTree) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not installed";
  const auto path = std::filesystem::temp_directory_path() / ("ds_svg_" + std::to_string(::getpid()) + ".svg");
  auto panels = training_panels();
  panels.push_back({"Empty & odd 'names'", "x\x01y", "s", {}});
  write_svg_chart(path, "a < b && c > d", "step", panels);
  const std::string cmd = "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot();"
                          " assert r.tag == \"{http://www.w3.org/2000/svg}svg\", r.tag' " + path.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << read_file(path);
  std::filesystem::remove(path);
}

// x 0..10 and y 0..1 are already nice, so the axes end exactly there: (5, 0.5) is the centre of
// the plot area and the ends are its corners.
TEST(SvgChart, PointsLandWhereTheLayoutSays) {
  const auto svg = svg_chart("t", "x", {{"p", "y", "", {{"s", {0, 5, 10}, {0, 0.5, 1}}}}});
  const double top = L::plot_top(0);
  EXPECT_EQ(top, 68);
  char expected[200];
  std::snprintf(expected, sizeof expected, "points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\"", L::kPlotLeft, top + L::kPlotHeight,
                L::kPlotLeft + L::kPlotWidth / 2, top + L::kPlotHeight / 2, L::kPlotLeft + L::kPlotWidth, top);
  EXPECT_EQ(std::string(expected), "points=\"90.00,268.00 370.00,168.00 650.00,68.00\"");
  EXPECT_NE(svg.find(expected), std::string::npos) << svg;
  EXPECT_NE(svg.find("<rect class=\"plot-area\" x=\"90.00\" y=\"68.00\" width=\"560.00\" height=\"200.00\""),
            std::string::npos);
  EXPECT_NE(svg.find("height=\"" + std::to_string(static_cast<int>(L::height(1))) + ".00\""), std::string::npos);
}

TEST(SvgChart, TextIsEscaped) {
  EXPECT_EQ(xml_escape("a<b>&\"c\" 'd'"), "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;");
  EXPECT_EQ(xml_escape("tab\tnl\nbell\x07"), "tab\tnl\nbell?");
  EXPECT_EQ(xml_escape("h\xc3\xa9llo"), "h\xc3\xa9llo");  // UTF-8 passes through
  const auto svg = svg_chart("a < b & c", "step <n>", training_panels());
  EXPECT_NE(svg.find("<title>a &lt; b &amp; c</title>"), std::string::npos);
  EXPECT_NE(svg.find(">step &lt;n&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">peak &lt;allocated&gt;</text>"), std::string::npos);
  EXPECT_EQ(svg.find("a < b"), std::string::npos);
}

// A NaN (or infinite) value ends a stretch: two polylines, and a lone point between gaps is a dot.
TEST(SvgChart, NonFiniteValuesBreakTheLine) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto svg = svg_chart("t", "x", {{"p", "y", "", {{"s", {0, 1, 2, 3, 4, 5, 6}, {1, 2, kNaN, 3, 4, inf, 5}}}}});
  EXPECT_EQ(count(svg, "<polyline"), 2);
  EXPECT_EQ(count(svg, "<circle"), 1);
  const auto nan_x = svg_chart("t", "x", {{"p", "y", "", {{"s", {0, kNaN, 2, 3}, {1, 2, 3, 4}}}}});
  EXPECT_EQ(count(nan_x, "<polyline"), 1);
  EXPECT_EQ(count(nan_x, "<circle"), 1);
  EXPECT_EQ(nan_x.find("nan"), std::string::npos);
}

TEST(SvgChart, ASinglePointIsADot) {
  const auto svg = svg_chart("t", "x", {{"p", "y", "", {{"only", {3}, {7}}}}});
  EXPECT_EQ(count(svg, "<polyline"), 0);
  ASSERT_EQ(count(svg, "<circle"), 1);
  // One value on each axis: both ranges are widened around it, so the dot is in the middle.
  EXPECT_NE(svg.find("<circle cx=\"370.00\" cy=\"168.00\" r=\"3\"/>"), std::string::npos) << svg;
}

TEST(SvgChart, EmptyPanelsSayNoData) {
  ChartPanel empty{"Eval loss", "loss", "", {}};
  ChartPanel all_nan{"Grad norm", "norm", "", {{"g", {1, 2}, {kNaN, kNaN}}}};
  const auto svg = svg_chart("t", "x", {training_panels()[0], empty, all_nan});
  EXPECT_EQ(count(svg, ">no data</text>"), 2);
  EXPECT_EQ(count(svg_chart("t", "x", {}), "<g class=\"panel\">"), 0);
  EXPECT_EQ(count(svg_chart("t", "x", {empty}), ">no data</text>"), 1);
}

TEST(SvgChart, ByteAxesUseBinaryUnitsFromZero) {
  const auto svg = svg_chart("t", "step", {training_panels()[1]});
  for (const char* label : {">0 GiB<", ">1 GiB<", ">2 GiB<", ">3 GiB<", ">4 GiB<"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
  EXPECT_EQ(svg.find("GiB)"), std::string::npos);  // the unit is on the ticks, not the label
}

TEST(SvgChart, OtherUnitsFollowTheYLabel) {
  const auto svg = svg_chart("t", "step", {{"Step time", "time", "s", {{"step", {1, 2}, {0.5, 0.6}}}}});
  EXPECT_NE(svg.find(">time (s)</text>"), std::string::npos);
}

// The x axis is shared: grid lines in every panel, tick labels only under the last one.
TEST(SvgChart, PanelsShareOneXAxis) {
  const auto svg = svg_chart("t", "step", training_panels());
  // x 1..10 in about 8 intervals: step 2, ticks 0..10 (6 of them).
  EXPECT_EQ(count(svg, "text-anchor=\"middle\">10</text>"), 1);
  EXPECT_EQ(count(svg, "<line class=\"grid\" x1=\"650.00\""), 2);
}

TEST(SvgChart, SeriesGetDistinctColours) {
  const auto svg = svg_chart("t", "step", training_panels());
  const std::regex stroke("<g class=\"series\" stroke=\"(#[0-9a-f]{6})\"");
  std::vector<std::string> colours;
  for (std::sregex_iterator it(svg.begin(), svg.end(), stroke), end; it != end; ++it) colours.push_back((*it)[1]);
  ASSERT_EQ(colours.size(), 3u);
  EXPECT_NE(colours[0], colours[1]);
}

TEST(SvgChart, MismatchedLengthsNameThePanelAndSeries) {
  try {
    svg_chart("t", "x", {{"Loss", "loss", "", {{"train", {1, 2, 3}, {1, 2}}}}});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "chart panel 'Loss', series 'train': x and y differ in length (got 3 x, 2 y); expected one y per x");
  }
}

// /proc exists but takes no new files (not even for root).
TEST(SvgChart, WritingToAnUnwritablePathNamesIt) {
  try {
    write_svg_chart("/proc/ds_chart.svg", "t", "x", {});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/proc/ds_chart.svg.tmp.", 0), 0u) << e.what();
  }
}

}  // namespace ds
