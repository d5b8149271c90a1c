#include "bench/bench_case.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/suggest.hpp"

namespace ds::bench {
namespace {

// '*' matches any run of characters (iterative wildcard match with backtracking to the last star).
bool glob_match(const std::string& pattern, const std::string& text) {
  std::size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(',', start), text.size());
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kTime: return "time";
    case Kind::kThroughput: return "throughput";
    case Kind::kBytes: return "bytes";
    case Kind::kAccuracy: return "accuracy";
  }
  return "time";
}

Kind parse_kind(const std::string& name) {
  for (Kind k : {Kind::kTime, Kind::kThroughput, Kind::kBytes, Kind::kAccuracy}) {
    if (name == kind_name(k)) return k;
  }
  throw RuntimeError(format_error("bench_results.kind", "unknown case kind", name,
                                  "time, throughput, bytes or accuracy"));
}

bool machine_bound(Kind kind) { return kind == Kind::kTime || kind == Kind::kThroughput; }

bool matches_filter(const std::string& name, const std::string& filter) {
  const auto patterns = split_commas(filter);
  if (patterns.empty()) return true;
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return p.find('*') == std::string::npos ? name.find(p) != std::string::npos : glob_match(p, name);
  });
}

void Registry::add(BenchCase c) {
  if (c.name.rfind(c.suite + "/", 0) != 0) {
    throw RuntimeError(format_error("bench case '" + c.name + "'", "name does not start with its suite",
                                    c.suite, "'" + c.suite + "/...'"));
  }
  if (find(c.name) != nullptr) throw RuntimeError(format_error("bench case '" + c.name + "'", "registered twice"));
  cases_.push_back(std::move(c));
}

void Registry::add_or_replace(BenchCase c) {
  auto it = std::find_if(cases_.begin(), cases_.end(), [&](const BenchCase& x) { return x.name == c.name; });
  if (it == cases_.end()) return add(std::move(c));
  *it = std::move(c);
}

std::vector<std::string> Registry::suites() const {
  std::vector<std::string> names;
  for (const auto& c : cases_) {
    if (std::find(names.begin(), names.end(), c.suite) == names.end()) names.push_back(c.suite);
  }
  return names;
}

const BenchCase* Registry::find(const std::string& name) const {
  for (const auto& c : cases_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<const BenchCase*> Registry::select(const std::vector<std::string>& suites, const std::string& filter) const {
  const auto known = this->suites();
  for (const auto& s : suites) {
    if (std::find(known.begin(), known.end(), s) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw UsageError(format_error("ds bench", "unknown suite '" + s + "'", "", list, "see `ds bench list`") +
                       did_you_mean(s, known));
    }
  }
  std::vector<const BenchCase*> picked;
  for (const auto& c : cases_) {
    const bool in_suite = suites.empty() || std::find(suites.begin(), suites.end(), c.suite) != suites.end();
    if (in_suite && matches_filter(c.name, filter)) picked.push_back(&c);
  }
  if (picked.empty()) {
    throw UsageError(format_error("--filter", "no case matches", filter, "a pattern matching a name in `ds bench list`",
                                  "a pattern without '*' matches anywhere in 'suite/case'; '*' matches any text"));
  }
  return picked;
}

}  // namespace ds::bench
