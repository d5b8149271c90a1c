#include "common/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <utility>

#include "common/atomic_file.hpp"
#include "common/chart_axis.hpp"
#include "common/error.hpp"

namespace ds {
namespace {

using L = SvgChartLayout;

// Tableau 10: distinct hues that stay apart for common colour-vision deficiencies.
constexpr const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

bool finite_point(const ChartSeries& s, std::size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); }

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  bool empty() const { return lo > hi; }
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
};

// Range of the finite points' x (use_x) or y over `panel`.
Range panel_range(const ChartPanel& panel, bool use_x) {
  Range r;
  for (const auto& s : panel.series) {
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (finite_point(s, i)) r.add(use_x ? s.x[i] : s.y[i]);
    }
  }
  return r;
}

void check_lengths(const std::vector<ChartPanel>& panels) {
  for (const auto& p : panels) {
    for (const auto& s : p.series) {
      if (s.x.size() == s.y.size()) continue;
      throw UsageError(format_error("chart panel '" + p.title + "', series '" + s.name + "'", "x and y differ in length",
                                    std::to_string(s.x.size()) + " x, " + std::to_string(s.y.size()) + " y",
                                    "one y per x"));
    }
  }
}

// One plot area and the data-to-pixel mapping of its axes.
struct Frame {
  double top = 0;
  AxisTicks x, y;
  double px(double v) const { return L::kPlotLeft + (v - x.lo) / (x.hi - x.lo) * L::kPlotWidth; }
  double py(double v) const { return top + (1 - (v - y.lo) / (y.hi - y.lo)) * L::kPlotHeight; }
};

AxisTicks y_ticks(const ChartPanel& panel, const Range& r) {
  if (panel.unit == "bytes") return byte_ticks(std::min(r.lo, 0.0), r.hi);
  return nice_ticks(r.lo, r.hi);
}

std::string text(double x, double y, const std::string& content, const std::string& attrs = {}) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (attrs.empty() ? "" : " " + attrs) + ">" +
         xml_escape(content) + "</text>\n";
}

void draw_x_axis(std::string& out, const Frame& f, bool labels) {
  const double bottom = f.top + L::kPlotHeight;
  for (std::size_t i = 0; i < f.x.values.size(); ++i) {
    const std::string x = num(f.px(f.x.values[i]));
    out += "<line class=\"grid\" x1=\"" + x + "\" y1=\"" + num(f.top) + "\" x2=\"" + x + "\" y2=\"" + num(bottom) + "\"/>\n";
    if (labels) out += text(f.px(f.x.values[i]), bottom + 16, f.x.labels[i], "text-anchor=\"middle\"");
  }
}

void draw_y_axis(std::string& out, const Frame& f, const ChartPanel& panel) {
  const double right = L::kPlotLeft + L::kPlotWidth;
  for (std::size_t i = 0; i < f.y.values.size(); ++i) {
    const double y = f.py(f.y.values[i]);
    out += "<line class=\"grid\" x1=\"" + num(L::kPlotLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(right) + "\" y2=\"" +
           num(y) + "\"/>\n";
    out += text(L::kPlotLeft - 6, y + 4, f.y.labels[i], "text-anchor=\"end\"");
  }
  std::string label = panel.y_label;
  if (!panel.unit.empty() && panel.unit != "bytes") label += " (" + panel.unit + ")";
  const double mid = f.top + L::kPlotHeight / 2;
  out += text(16, mid, label, "text-anchor=\"middle\" transform=\"rotate(-90 16 " + num(mid) + ")\"");
}

// The series as polylines between gaps; a stretch of one point is a dot.
void draw_series(std::string& out, const Frame& f, const ChartSeries& s, const char* colour) {
  out += "<g class=\"series\" stroke=\"" + std::string(colour) + "\" fill=\"" + colour + "\">\n";
  std::vector<std::pair<double, double>> run;  // pixel coordinates of the current stretch
  auto flush = [&] {
    if (run.size() == 1) {
      out += "<circle cx=\"" + num(run[0].first) + "\" cy=\"" + num(run[0].second) + "\" r=\"3\"/>\n";
    } else if (run.size() > 1) {
      out += "<polyline fill=\"none\" stroke-width=\"1.5\" points=\"";
      for (std::size_t i = 0; i < run.size(); ++i) out += (i ? " " : "") + num(run[i].first) + "," + num(run[i].second);
      out += "\"/>\n";
    }
    run.clear();
  };
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (finite_point(s, i)) run.emplace_back(f.px(s.x[i]), f.py(s.y[i]));
    else flush();
  }
  flush();
  out += "</g>\n";
}

void draw_legend(std::string& out, const Frame& f, const ChartPanel& panel) {
  const double x = L::kPlotLeft + L::kPlotWidth + 16;
  for (std::size_t i = 0; i < panel.series.size(); ++i) {
    const double y = f.top + 12 + 18 * static_cast<double>(i);
    const char* colour = kColours[i % std::size(kColours)];
    out += "<line x1=\"" + num(x) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x + 20) + "\" y2=\"" + num(y) + "\" stroke=\"" +
           colour + "\" stroke-width=\"3\"/>\n";
    out += text(x + 26, y + 4, panel.series[i].name);
  }
}

void draw_panel(std::string& out, const ChartPanel& panel, std::size_t index, const AxisTicks& x_ticks, bool last) {
  Frame f;
  f.top = L::plot_top(index);
  f.x = x_ticks;
  out += "<g class=\"panel\">\n";
  out += text(L::kPlotLeft, f.top - 8, panel.title, "font-weight=\"bold\"");
  out += "<rect class=\"plot-area\" x=\"" + num(L::kPlotLeft) + "\" y=\"" + num(f.top) + "\" width=\"" +
         num(L::kPlotWidth) + "\" height=\"" + num(L::kPlotHeight) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  draw_x_axis(out, f, last);
  const Range y = panel_range(panel, false);
  if (y.empty() || x_ticks.values.empty()) {
    out += text(L::kPlotLeft + L::kPlotWidth / 2, f.top + L::kPlotHeight / 2, "no data",
                "class=\"no-data\" text-anchor=\"middle\" fill=\"#888\"");
  } else {
    f.y = y_ticks(panel, y);
    draw_y_axis(out, f, panel);
    for (std::size_t i = 0; i < panel.series.size(); ++i) {
      draw_series(out, f, panel.series[i], kColours[i % std::size(kColours)]);
    }
  }
  draw_legend(out, f, panel);
  out += "</g>\n";
}

}  // namespace

std::string xml_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        const bool control = static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
        out += control ? '?' : c;
    }
  }
  return out;
}

std::string svg_chart(const std::string& title, const std::string& x_label, const std::vector<ChartPanel>& panels) {
  check_lengths(panels);
  Range x;
  for (const auto& p : panels) {
    const Range r = panel_range(p, true);
    if (!r.empty()) x.add(r.lo), x.add(r.hi);
  }
  const AxisTicks x_ticks = x.empty() ? AxisTicks{} : nice_ticks(x.lo, x.hi, 8);
  const double height = L::height(panels.size());
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    num(L::kWidth) + "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(L::kWidth) + " " +
                    num(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<title>" + xml_escape(title) + "</title>\n";
  out += "<style>.grid { stroke: #ddd; stroke-width: 1; }</style>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += text(L::kWidth / 2, 26, title, "text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\"");
  for (std::size_t i = 0; i < panels.size(); ++i) draw_panel(out, panels[i], i, x_ticks, i + 1 == panels.size());
  const double x_label_y = L::plot_top(panels.empty() ? 0 : panels.size() - 1) + L::kPlotHeight + 40;
  out += text(L::kPlotLeft + L::kPlotWidth / 2, x_label_y, x_label, "text-anchor=\"middle\"");
  out += "</svg>\n";
  return out;
}

void write_svg_chart(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                     const std::vector<ChartPanel>& panels) {
  write_file_atomic(path, svg_chart(title, x_label, panels));
}

}  // namespace ds
