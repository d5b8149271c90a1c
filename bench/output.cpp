#include "bench/output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/svg_chart.hpp"
#include "common/table.hpp"
#include "common/units.hpp"

namespace ds::bench {
namespace {

using Align = Table::Align;

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// Three significant digits.
std::string sig3(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", value);
  return buf;
}

std::string ratio_text(const CaseComparison& c) {
  if (!c.baseline_median) return "-";
  return std::isfinite(c.ratio) ? fixed(c.ratio, 3) + "x" : "inf";
}

std::string case_suite(const std::string& name) { return name.substr(0, name.find('/')); }

nlohmann::json result_json(const CaseResult& r) {
  return {{"name", r.name}, {"suite", r.suite}, {"kind", kind_name(r.kind)}, {"unit", r.unit},
          {"higher_is_better", r.higher_is_better}, {"median", r.median}, {"spread", r.spread}, {"runs", r.runs},
          {"samples", r.samples}, {"stop_reason", r.stop_reason}, {"elapsed_s", r.elapsed_s}};
}

nlohmann::json skipped_json(const std::vector<SkippedCase>& skipped) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : skipped) list.push_back({{"name", s.name}, {"reason", s.reason}});
  return list;
}

std::string markdown_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') out += "\\|";
    else out += ch;
  }
  return out;
}

}  // namespace

std::string format_value(double value, const std::string& unit) {
  if (unit == "s") {
    const double a = std::fabs(value);
    if (a >= 1 || a == 0) return sig3(value) + " s";
    if (a >= 1e-3) return sig3(value * 1e3) + " ms";
    if (a >= 1e-6) return sig3(value * 1e6) + " us";
    return sig3(value * 1e9) + " ns";
  }
  if (unit == "bytes") return format_bytes(value);
  if (unit.find("/s") != std::string::npos) {
    const double a = std::fabs(value);
    if (a >= 1e9) return sig3(value / 1e9) + " G " + unit;
    if (a >= 1e6) return sig3(value / 1e6) + " M " + unit;
    if (a >= 1e3) return sig3(value / 1e3) + " k " + unit;
    return sig3(value) + " " + unit;
  }
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fixed(value, 0) + " " + unit;
  return sig3(value) + " " + unit;
}

std::string render_case_list(const Registry& registry, bool engine_linked) {
  Table table({"suite", "case", "kind", "unit", "description"});
  for (const auto& c : registry.cases()) {
    std::string description = c.description;
    if (c.needs_engine && !engine_linked) description += " [ds-engine]";
    table.add_row({c.suite, c.name, kind_name(c.kind), c.unit, description});
  }
  std::string text = table.render();
  text += std::to_string(registry.cases().size()) + " cases in " + std::to_string(registry.suites().size()) +
          " suites. Time and throughput cases compare only with baselines of the same machine; bytes and accuracy "
          "cases compare anywhere, exactly or within their tolerance.\n";
  return text;
}

nlohmann::json case_list_json(const Registry& registry, bool engine_linked) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& c : registry.cases()) {
    cases.push_back({{"suite", c.suite}, {"name", c.name}, {"kind", kind_name(c.kind)}, {"unit", c.unit},
                     {"description", c.description}, {"tolerance", c.tolerance}, {"needs_engine", c.needs_engine},
                     {"available", !c.needs_engine || engine_linked}});
  }
  return {{"suites", registry.suites()}, {"cases", cases}};
}

std::string render_run(const BenchRun& run) {
  Table table({"case", "median", "spread (IQR)", "runs", "stopped"}, {Align::kLeft, Align::kRight, Align::kRight,
                                                                       Align::kRight, Align::kLeft});
  for (const auto& r : run.results) {
    table.add_row({r.name, format_value(r.median, r.unit), format_value(r.spread, r.unit), std::to_string(r.runs),
                   r.stop_reason});
  }
  std::string text = table.render();
  for (const auto& s : run.skipped) text += "skipped " + s.name + ": " + s.reason + "\n";
  text += "run " + std::to_string(run.id) + " on machine " + run.machine_fingerprint.substr(0, 12) + ", ds " +
          run.ds_version + " (" + run.git_commit + ")";
  if (run.injected_slowdown != 1) text += ", injected slowdown x" + fixed(run.injected_slowdown, 2) + " (test only)";
  return text + "\n";
}

nlohmann::json run_json(const BenchRun& run) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : run.results) results.push_back(result_json(r));
  return {{"id", run.id}, {"created_at", run.created_at}, {"ds_version", run.ds_version},
          {"git_commit", run.git_commit}, {"build_type", run.build_type},
          {"machine_fingerprint", run.machine_fingerprint}, {"machine", run.machine}, {"selection", run.selection},
          {"injected_slowdown", run.injected_slowdown}, {"results", results}, {"skipped", skipped_json(run.skipped)}};
}

std::string render_comparison(const Comparison& cmp) {
  Table table({"case", "baseline", "now", "ratio", "verdict", "why"},
              {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kLeft, Align::kLeft});
  for (const auto& c : cmp.cases) {
    table.add_row({c.name, c.baseline_median ? format_value(*c.baseline_median, c.unit) : "-",
                   format_value(c.now_median, c.unit), ratio_text(c), verdict_name(c.verdict), c.note});
  }
  std::string text = table.render();
  for (const auto& s : cmp.skipped) text += "skipped " + s.name + ": " + s.reason + "\n";
  text += std::to_string(cmp.count(Verdict::kRegression)) + " regressed, " +
          std::to_string(cmp.count(Verdict::kImprovement)) + " improved, " +
          std::to_string(cmp.count(Verdict::kUnchanged)) + " unchanged, " +
          std::to_string(cmp.count(Verdict::kNoBaseline) + cmp.count(Verdict::kOtherMachine)) +
          " not compared (baseline '" + cmp.baseline_name + "'; alpha " + sig3(cmp.options.alpha) +
          ", min effect " + sig3(cmp.options.min_effect * 100) + "%)\n";
  return text;
}

nlohmann::json comparison_json(const Comparison& cmp) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& c : cmp.cases) {
    cases.push_back({{"name", c.name}, {"kind", kind_name(c.kind)}, {"unit", c.unit},
                     {"higher_is_better", c.higher_is_better},
                     {"baseline_median", c.baseline_median ? nlohmann::json(*c.baseline_median) : nlohmann::json()},
                     {"now_median", c.now_median}, {"ratio", c.baseline_median ? nlohmann::json(c.ratio) : nlohmann::json()},
                     {"effect", c.effect}, {"p_value", c.p_value ? nlohmann::json(*c.p_value) : nlohmann::json()},
                     {"baseline_runs", c.baseline_runs}, {"now_runs", c.now_runs},
                     {"baseline_run_id", c.baseline_run_id}, {"verdict", verdict_name(c.verdict)}, {"note", c.note}});
  }
  return {{"baseline", cmp.baseline_name}, {"machine_fingerprint", cmp.machine_fingerprint},
          {"run_id", cmp.now_run_id}, {"alpha", cmp.options.alpha}, {"min_effect", cmp.options.min_effect},
          {"regressed", cmp.regressed()}, {"regressions", cmp.count(Verdict::kRegression)},
          {"improvements", cmp.count(Verdict::kImprovement)}, {"cases", cases},
          {"skipped", skipped_json(cmp.skipped)}};
}

std::string comparison_junit(const Comparison& cmp) {
  int skipped = static_cast<int>(cmp.skipped.size());
  for (const auto& c : cmp.cases) {
    skipped += c.verdict == Verdict::kNoBaseline || c.verdict == Verdict::kOtherMachine ? 1 : 0;
  }
  const std::size_t tests = cmp.cases.size() + cmp.skipped.size();
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites name=\"ds bench\" tests=\"" + std::to_string(tests) + "\" failures=\"" +
         std::to_string(cmp.count(Verdict::kRegression)) + "\">\n";
  xml += "  <testsuite name=\"ds bench vs " + xml_escape(cmp.baseline_name) + "\" tests=\"" + std::to_string(tests) +
         "\" failures=\"" + std::to_string(cmp.count(Verdict::kRegression)) + "\" errors=\"0\" skipped=\"" +
         std::to_string(skipped) + "\">\n";
  for (const auto& c : cmp.cases) {
    const std::string summary = "baseline " + (c.baseline_median ? format_value(*c.baseline_median, c.unit) : "-") +
                                ", now " + format_value(c.now_median, c.unit) + ", ratio " + ratio_text(c) + "; " +
                                verdict_name(c.verdict) + " (" + c.note + ")";
    xml += "    <testcase classname=\"" + xml_escape(case_suite(c.name)) + "\" name=\"" + xml_escape(c.name) + "\">\n";
    if (c.verdict == Verdict::kRegression) {
      xml += "      <failure message=\"" + xml_escape(summary) + "\" type=\"regression\">" + xml_escape(summary) +
             "</failure>\n";
    } else if (c.verdict == Verdict::kNoBaseline || c.verdict == Verdict::kOtherMachine) {
      xml += "      <skipped message=\"" + xml_escape(summary) + "\"/>\n";
    }
    xml += "      <system-out>" + xml_escape(summary) + "</system-out>\n    </testcase>\n";
  }
  for (const auto& s : cmp.skipped) {
    xml += "    <testcase classname=\"" + xml_escape(case_suite(s.name)) + "\" name=\"" + xml_escape(s.name) +
           "\">\n      <skipped message=\"" + xml_escape(s.reason) + "\"/>\n    </testcase>\n";
  }
  return xml + "  </testsuite>\n</testsuites>\n";
}

std::string comparison_markdown(const Comparison& cmp) {
  std::vector<const CaseComparison*> order;
  for (const auto& c : cmp.cases) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](const CaseComparison* a, const CaseComparison* b) {
    auto rank = [](Verdict v) { return v == Verdict::kRegression ? 0 : v == Verdict::kImprovement ? 1 : 2; };
    return rank(a->verdict) < rank(b->verdict);
  });
  std::string md = cmp.regressed() ? "### :x: ds bench: " + std::to_string(cmp.count(Verdict::kRegression)) +
                                         " regression(s) against `" + cmp.baseline_name + "`\n\n"
                                   : "### :white_check_mark: ds bench: no regression against `" + cmp.baseline_name +
                                         "`\n\n";
  md += "| case | baseline | now | ratio | verdict | why |\n|---|---:|---:|---:|---|---|\n";
  for (const auto* c : order) {
    const std::string verdict = c->verdict == Verdict::kRegression ? "**regression**" : verdict_name(c->verdict);
    md += "| `" + c->name + "` | " + (c->baseline_median ? format_value(*c->baseline_median, c->unit) : "-") + " | " +
          format_value(c->now_median, c->unit) + " | " + ratio_text(*c) + " | " + verdict + " | " +
          markdown_escape(c->note) + " |\n";
  }
  md += "\n" + std::to_string(cmp.count(Verdict::kImprovement)) + " improved, " +
        std::to_string(cmp.count(Verdict::kUnchanged)) + " unchanged. A time or throughput case regresses when the "
        "Mann-Whitney U test over its samples gives p < " + sig3(cmp.options.alpha) +
        " and both its Hodges-Lehmann ratio and its ratio of medians are at least " +
        sig3(cmp.options.min_effect * 100) + "% worse; bytes and accuracy cases compare exactly or within their tolerance.\n";
  return md;
}

}  // namespace ds::bench
