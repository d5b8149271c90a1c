// `ds bench history` and `ds bench report`'s pieces: the history table, JSON and SVG of one case,
// and the generated numbers section of docs/performance.md with its splicing.
#include "bench/history.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "common/error.hpp"
#include "profiles/store.hpp"

namespace {

using namespace ds::bench;

HistoryPoint point(std::int64_t run_id, const std::string& created_at, const std::string& commit,
                   const std::string& machine, double median, double spread) {
  HistoryPoint p;
  p.run_id = run_id;
  p.created_at = created_at;
  p.git_commit = commit;
  p.machine_fingerprint = machine;
  p.result.name = "core/a";
  p.result.suite = "core";
  p.result.unit = "s";
  p.result.median = median;
  p.result.spread = spread;
  p.result.samples = {median, median, median, median, median};
  p.result.runs = 5;
  return p;
}

const std::vector<HistoryPoint> kPoints = {
    point(1, "2026-01-02T03:04:05.678Z", "abc1234", "aaaaaaaaaaaaaaaa", 1.5e-3, 2.5e-4),
    point(12, "2026-01-03T00:00:00.000Z", "def5678", "bbbbbbbbbbbbbbbb", 0.012, 0.001),
};

TEST(RenderHistory, OneAlignedRowPerRunOldestFirst) {
  EXPECT_EQ(render_history("core/a", kPoints),
            "core/a\n"
            "run  date                 commit   machine       median  spread (IQR)  runs\n"
            "---  -------------------  -------  ------------  ------  ------------  ----\n"
            "  1  2026-01-02T03:04:05  abc1234  aaaaaaaaaaaa  1.5 ms        250 us     5\n"
            " 12  2026-01-03T00:00:00  def5678  bbbbbbbbbbbb   12 ms          1 ms     5\n");
  EXPECT_EQ(render_history("core/a", {}), "no stored results of core/a\n");
}

TEST(HistoryJson, EveryPointWithItsSamples) {
  const auto j = history_json("core/a", {kPoints[0]});
  EXPECT_EQ(j, nlohmann::json::parse(R"({"case": "core/a", "points": [{"run_id": 1,
      "created_at": "2026-01-02T03:04:05.678Z", "git_commit": "abc1234", "machine_fingerprint": "aaaaaaaaaaaaaaaa",
      "median": 0.0015, "spread": 0.00025, "runs": 5, "unit": "s",
      "samples": [0.0015, 0.0015, 0.0015, 0.0015, 0.0015]}]})"));
  EXPECT_EQ(history_json("core/a", {}), nlohmann::json::parse(R"({"case": "core/a", "points": []})"));
}

TEST(WriteHistorySvg, OneMedianSeriesPerMachineAndQuartilesWhenThereAreSeveralRuns) {
  const auto dir = std::filesystem::temp_directory_path() / ("ds_history_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto read = [](const std::filesystem::path& path) {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    return text.str();
  };
  write_history_svg(dir / "two.svg", "core/a", kPoints);
  const std::string two = read(dir / "two.svg");
  EXPECT_NE(two.find("<svg"), std::string::npos);
  EXPECT_NE(two.find("ds bench history: core/a"), std::string::npos);
  EXPECT_NE(two.find("median, machine aaaaaaaaaaaa"), std::string::npos);
  EXPECT_NE(two.find("median, machine bbbbbbbbbbbb"), std::string::npos);
  EXPECT_NE(two.find("median + IQR/2"), std::string::npos);
  write_history_svg(dir / "one.svg", "core/a", {kPoints[0]});
  const std::string one = read(dir / "one.svg");
  EXPECT_NE(one.find("median, machine aaaaaaaaaaaa"), std::string::npos);
  EXPECT_EQ(one.find("IQR/2"), std::string::npos);
  write_history_svg(dir / "none.svg", "core/a", {});  // a case with nothing stored yet
  EXPECT_NE(read(dir / "none.svg").find("ds bench history: core/a"), std::string::npos);
  std::filesystem::remove_all(dir);
}

BenchRun run(const std::string& machine, const std::string& created_at, const std::string& commit,
             std::vector<CaseResult> results) {
  BenchRun r;
  r.created_at = created_at;
  r.git_commit = commit;
  r.machine_fingerprint = machine;
  r.machine = {{"cpu_model", "Test CPU"}, {"cpu_threads", 8}};
  r.results = std::move(results);
  return r;
}

CaseResult result(const std::string& name, const std::string& unit, double median, double spread, int runs) {
  CaseResult r;
  r.name = name;
  r.suite = name.substr(0, name.find('/'));
  r.kind = unit == "s" ? Kind::kTime : Kind::kAccuracy;
  r.unit = unit;
  r.median = median;
  r.spread = spread;
  r.runs = runs;
  r.samples.assign(static_cast<std::size_t>(runs), median);
  return r;
}

TEST(PerformanceSection, NewestResultOfEveryCaseOnThisMachineGroupedBySuite) {
  ds::profiles::Store store(":memory:");
  save_run(store, run("fp-1", "2026-01-01T10:00:00.000Z", "old1111",
                      {result("core/a", "s", 0.3, 0.25, 3), result("core/gone", "s", 0.3, 0.25, 3)}));
  save_run(store, run("fp-1", "2026-01-02T10:00:00.000Z", "abc1234",
                      {result("estimate/e", "tokens", 10955, 0, 1), result("core/a", "s", 1.5e-3, 2.5e-4, 3)}));
  BenchRun injected = run("fp-1", "2026-01-03T10:00:00.000Z", "inj0000", {result("core/a", "s", 9, 0, 3)});
  injected.injected_slowdown = 2;
  save_run(store, injected);
  save_run(store, run("fp-2", "2026-01-04T10:00:00.000Z", "other00", {result("core/a", "s", 7, 0, 3)}));
  const std::string table_head = "| case | median | spread (IQR) | samples | commit | date |\n|---|---:|---:|---:|---|---|\n";
  EXPECT_EQ(performance_section(store, "fp-1"),
            std::string(kReportBegin) +
                "\n### Numbers from `ds bench`\n\nThe newest stored result of every case on machine `fp-1` (Test CPU, "
                "8 threads), written by `ds bench report`; the medians are over the case's repeated samples.\n"
                "\n#### core\n\n" + table_head +
                "| `core/a` | 1.5 ms | 250 us | 3 | abc1234 | 2026-01-02 |\n"
                "| `core/gone` | 300 ms | 250 ms | 3 | old1111 | 2026-01-01 |\n"
                "\n#### estimate\n\n" + table_head +
                "| `estimate/e` | 10955 tokens | 0 tokens | 1 | abc1234 | 2026-01-02 |\n"
                "\n" + kReportEnd + "\n");
}

TEST(PerformanceSection, NothingStoredForTheMachineIsAUsageError) {
  ds::profiles::Store store(":memory:");
  save_run(store, run("fp-1", "2026-01-01T10:00:00.000Z", "abc1234", {result("core/a", "s", 0.3, 0, 3)}));
  try {
    performance_section(store, "0123456789abcdef");
    FAIL() << "no error";
  } catch (const ds::UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "ds bench report: no stored bench results from this machine (got 0123456789ab); hint: run `ds bench "
              "run` first");
  }
}

TEST(SpliceSection, ReportSectionIsSplicedBetweenItsMarkers) {
  const std::string section = std::string(kReportBegin) + "\nnew\n" + kReportEnd + "\n";
  EXPECT_EQ(splice_section("# Perf\ntext", section), "# Perf\ntext\n\n" + section);
  const std::string doc = "# Perf\n" + std::string(kReportBegin) + "\nold\n" + kReportEnd + "\ntail\n";
  EXPECT_EQ(splice_section(doc, section), "# Perf\n" + section + "tail\n");
}

TEST(SpliceSection, EdgeCases) {
  const std::string section = std::string(kReportBegin) + "\nnew\n" + kReportEnd + "\n";
  EXPECT_EQ(splice_section("", section), "\n" + section);
  // The end marker as the document's last bytes, without a newline after it.
  EXPECT_EQ(splice_section(std::string(kReportBegin) + "\nold\n" + kReportEnd, section), section);
  // Markers out of order are no section: the new one is appended and the stray ones stay.
  const std::string reversed = std::string(kReportEnd) + "\n" + kReportBegin + "\n";
  EXPECT_EQ(splice_section(reversed, section), reversed + "\n" + section);
}

// The end marker is looked for after the begin marker: prose that mentions it earlier must not
// make a second section appear beside the stale one.
TEST(SpliceSection, AnEndMarkerMentionedEarlierDoesNotHideTheSection) {
  const std::string section = std::string(kReportBegin) + "\nnew\n" + kReportEnd + "\n";
  const std::string prose = "The numbers end at " + std::string(kReportEnd) + ".\n";
  const std::string doc = prose + kReportBegin + "\nold\n" + kReportEnd + "\n";
  EXPECT_EQ(splice_section(doc, section), prose + section);
}

}  // namespace
