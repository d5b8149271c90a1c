#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ds {

/// One line of a chart: y over x. A non-finite x or y (a skipped step) breaks the line there; a
/// stretch of one point is drawn as a dot.
struct ChartSeries {
  std::string name;       ///< legend entry
  std::vector<double> x;  ///< same length as y
  std::vector<double> y;
};

/// One panel: its own y axis, the x axis shared with the other panels of the chart.
struct ChartPanel {
  std::string title;
  std::string y_label;
  /// "" for plain numbers; "bytes" for ticks in B/KiB/MiB/GiB/TiB with the axis starting at 0
  /// when every value is non-negative; anything else is shown after the y label, "(s)".
  std::string unit;
  std::vector<ChartSeries> series;
};

/// Layout of every chart, in SVG user units (pixels); tests locate points through it.
struct SvgChartLayout {
  static constexpr double kWidth = 860;
  static constexpr double kPlotLeft = 90;       ///< left edge of every plot area (y labels left of it)
  static constexpr double kPlotWidth = 560;     ///< legend to the right of the plot area
  static constexpr double kTop = 44;            ///< below the chart title
  static constexpr double kPanelTitle = 24;     ///< panel title above each plot area
  static constexpr double kPlotHeight = 200;
  static constexpr double kPanelGap = 30;       ///< between one plot area and the next panel title
  static constexpr double kBottom = 56;         ///< x tick labels and x label under the last panel

  /// Top edge of panel `index`'s plot area.
  static double plot_top(std::size_t index) {
    return kTop + kPanelTitle + static_cast<double>(index) * (kPanelTitle + kPlotHeight + kPanelGap);
  }
  static double height(std::size_t panels) {
    return plot_top(panels == 0 ? 0 : panels - 1) + kPlotHeight + kBottom;
  }
};

/// A self-contained SVG line chart: `title` on top, the panels stacked vertically over one x
/// axis labelled `x_label` (ticks under the last panel, grid lines in all), nice 1/2/5 x 10^k
/// ticks, a legend per panel, distinct colours per series, XML-escaped text. A panel without a
/// finite point says "no data". Throws UsageError naming the panel and series when x and y
/// differ in length.
std::string svg_chart(const std::string& title, const std::string& x_label, const std::vector<ChartPanel>& panels);

/// svg_chart written atomically to `path` (common/atomic_file.hpp); throws RuntimeError naming
/// the path when it cannot be written.
void write_svg_chart(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                     const std::vector<ChartPanel>& panels);

/// Text safe inside XML content and attribute values: & < > " ' as entities; control characters
/// that XML 1.0 forbids become '?'.
std::string xml_escape(std::string_view text);

}  // namespace ds
