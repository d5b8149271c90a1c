#include "bench/history.hpp"

#include <map>

#include "bench/output.hpp"
#include "common/error.hpp"
#include "common/svg_chart.hpp"
#include "common/table.hpp"
#include "profiles/store.hpp"

namespace ds::bench {
namespace {

using Align = Table::Align;

std::string short_id(const std::string& text) { return text.substr(0, 12); }

// A unit the chart helper understands: bytes get byte ticks; others are printed after the label.
std::string chart_unit(const std::string& unit) { return unit == "bytes" ? "bytes" : unit; }

}  // namespace

std::string render_history(const std::string& case_name, const std::vector<HistoryPoint>& points) {
  if (points.empty()) return "no stored results of " + case_name + "\n";
  Table table({"run", "date", "commit", "machine", "median", "spread (IQR)", "runs"},
              {Align::kRight, Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kRight, Align::kRight});
  for (const auto& p : points) {
    table.add_row({std::to_string(p.run_id), p.created_at.substr(0, 19), p.git_commit, short_id(p.machine_fingerprint),
                   format_value(p.result.median, p.result.unit), format_value(p.result.spread, p.result.unit),
                   std::to_string(p.result.runs)});
  }
  return case_name + "\n" + table.render();
}

nlohmann::json history_json(const std::string& case_name, const std::vector<HistoryPoint>& points) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : points) {
    list.push_back({{"run_id", p.run_id}, {"created_at", p.created_at}, {"git_commit", p.git_commit},
                    {"machine_fingerprint", p.machine_fingerprint}, {"median", p.result.median},
                    {"spread", p.result.spread}, {"runs", p.result.runs}, {"unit", p.result.unit},
                    {"samples", p.result.samples}});
  }
  return {{"case", case_name}, {"points", list}};
}

void write_history_svg(const std::filesystem::path& path, const std::string& case_name,
                       const std::vector<HistoryPoint>& points) {
  // One median series per machine (their numbers do not compare), plus the quartiles of the newest machine's.
  std::map<std::string, ChartSeries> by_machine;
  ChartSeries q25{"25th percentile", {}, {}}, q75{"75th percentile", {}, {}};
  const std::string newest = points.empty() ? "" : points.back().machine_fingerprint;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    auto& s = by_machine[p.machine_fingerprint];
    s.name = "median, machine " + short_id(p.machine_fingerprint);
    s.x.push_back(static_cast<double>(i + 1));
    s.y.push_back(p.result.median);
    if (p.machine_fingerprint == newest) {
      q25.x.push_back(static_cast<double>(i + 1));
      q75.x.push_back(static_cast<double>(i + 1));
      q25.y.push_back(p.result.median - p.result.spread / 2);
      q75.y.push_back(p.result.median + p.result.spread / 2);
    }
  }
  ChartPanel panel;
  panel.title = case_name;
  panel.y_label = points.empty() ? "value" : "median";
  panel.unit = points.empty() ? "" : chart_unit(points.back().result.unit);
  for (auto& [fingerprint, series] : by_machine) panel.series.push_back(std::move(series));
  if (points.size() > 1) {
    q25.name = "median - IQR/2";
    q75.name = "median + IQR/2";
    panel.series.push_back(std::move(q25));
    panel.series.push_back(std::move(q75));
  }
  write_svg_chart(path, "ds bench history: " + case_name, "stored run (oldest to newest)", {panel});
}

std::string performance_section(profiles::Store& store, const std::string& machine_fingerprint) {
  // The newest stored result of every case on this machine (runs with an injected slowdown left out).
  auto st = store.prepare(
      "SELECT res.*, r.created_at AS run_created_at, r.git_commit, r.ds_version, r.machine_json"
      " FROM bench_results res JOIN bench_runs r ON r.id = res.run_id"
      " WHERE r.machine_fingerprint = ? AND r.injected_slowdown = 1"
      " AND r.id = (SELECT MAX(r2.id) FROM bench_results res2 JOIN bench_runs r2 ON r2.id = res2.run_id"
      "   WHERE res2.case_name = res.case_name AND r2.machine_fingerprint = r.machine_fingerprint"
      "   AND r2.injected_slowdown = 1)"
      " ORDER BY res.suite, res.case_name");
  st.bind(1, machine_fingerprint);
  std::string section = std::string(kReportBegin) + "\n";
  std::string suite, machine;
  int rows = 0;
  std::string body;
  while (st.step()) {
    const std::string this_suite = st.get_text("suite");
    if (this_suite != suite) {
      suite = this_suite;
      body += "\n#### " + suite + "\n\n| case | median | spread (IQR) | samples | commit | date |\n"
              "|---|---:|---:|---:|---|---|\n";
    }
    if (machine.empty()) {
      const auto m = nlohmann::json::parse(st.get_text("machine_json"), nullptr, false);
      if (m.is_object()) {
        machine = m.value("cpu_model", "") + ", " + std::to_string(m.value("cpu_threads", 0)) + " threads";
      }
    }
    const std::string unit = st.get_text("unit");
    body += "| `" + st.get_text("case_name") + "` | " + format_value(st.get_double("median"), unit) + " | " +
            format_value(st.get_double("spread"), unit) + " | " + std::to_string(st.get_int("runs")) + " | " +
            st.get_text("git_commit") + " | " + st.get_text("run_created_at").substr(0, 10) + " |\n";
    ++rows;
  }
  if (rows == 0) {
    throw UsageError(format_error("ds bench report", "no stored bench results from this machine",
                                  short_id(machine_fingerprint), "", "run `ds bench run` first"));
  }
  section += "### Numbers from `ds bench`\n\nThe newest stored result of every case on machine `" +
             short_id(machine_fingerprint) + "` (" + machine +
             "), written by `ds bench report`; the medians are over the case's repeated samples.\n" + body;
  return section + "\n" + kReportEnd + "\n";
}

std::string splice_section(const std::string& document, const std::string& section) {
  const auto begin = document.find(kReportBegin);
  // The end marker after the begin marker: the document may mention it earlier.
  const auto end = begin == std::string::npos ? std::string::npos : document.find(kReportEnd, begin);
  if (end == std::string::npos) {
    std::string out = document;
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out + "\n" + section;
  }
  auto after = end + std::string(kReportEnd).size();
  if (after < document.size() && document[after] == '\n') ++after;
  return document.substr(0, begin) + section + document.substr(after);
}

}  // namespace ds::bench
