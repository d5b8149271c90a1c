// DeepSpeed's hostfile and resource filters (deepspeed/launcher/runner.py: fetch_hostfile,
// parse_resource_filter), with located errors.
#include "engine/launch/hostfile.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <map>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/suggest.hpp"

namespace ds::launch {
namespace {

std::string trim(std::string_view text) {
  const char* space = " \t\r";
  size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(space);
  return std::string(text.substr(begin, end - begin + 1));
}

std::optional<int> parse_count(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

HostSlots parse_line(const std::string& line, const std::string& where) {
  std::istringstream words(line);
  std::string host, slots_word, extra;
  words >> host >> slots_word >> extra;
  const std::string expected = "'<host> slots=<N>'";
  if (slots_word.empty() || !extra.empty() || slots_word.rfind("slots=", 0) != 0) {
    throw UsageError(format_error(where, "bad hostfile entry", "'" + line + "'", expected));
  }
  auto slots = parse_count(std::string_view(slots_word).substr(6));
  if (!slots || *slots < 1) {
    throw UsageError(format_error(where, "slots must be a positive whole number", "'" + slots_word + "'", expected));
  }
  return {host, *slots};
}

/// One filter: host -> slot list (empty: the whole host), validated against the hostfile.
std::map<std::string, std::set<int>> parse_filter(const std::string& filter, const char* flag,
                                                  const std::vector<HostSlots>& hosts) {
  std::vector<std::string> names;
  for (const HostSlots& h : hosts) names.push_back(h.host);
  const std::string where = std::string(flag) + " '" + filter + "'";
  std::map<std::string, std::set<int>> out;
  for (const std::string& item : split(filter, '@')) {
    const size_t colon = item.find(':');
    const std::string host = item.substr(0, colon);
    auto it = std::find_if(hosts.begin(), hosts.end(), [&](const HostSlots& h) { return h.host == host; });
    if (it == hosts.end()) {
      const std::string suggestion = did_you_mean(host, names);
      if (!suggestion.empty()) throw UsageError(format_error(where, "host '" + host + "' is not in the hostfile" + suggestion));
      std::string known;
      for (size_t i = 0; i < names.size() && i < 5; ++i) known += (i ? ", " : "") + names[i];
      throw UsageError(format_error(where, "host '" + host + "' is not in the hostfile", {},
                                    "one of " + known + (names.size() > 5 ? ", ..." : "")));
    }
    std::set<int>& slots = out[host];
    if (colon == std::string::npos) continue;
    for (const std::string& slot_text : split(item.substr(colon + 1), ',')) {
      auto slot = parse_count(slot_text);
      if (!slot || *slot >= it->slots) {
        throw UsageError(format_error(where, "no slot '" + slot_text + "' on host '" + host + "'", {},
                                      "a slot in 0.." + std::to_string(it->slots - 1)));
      }
      slots.insert(*slot);
    }
  }
  return out;
}

std::vector<int> all_slots(int count) {
  std::vector<int> slots(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) slots[static_cast<size_t>(i)] = i;
  return slots;
}

}  // namespace

std::vector<HostSlots> parse_hostfile(std::string_view text, const std::string& source) {
  std::vector<HostSlots> hosts;
  std::istringstream lines{std::string(text)};
  std::string raw;
  for (int number = 1; std::getline(lines, raw); ++number) {
    const std::string line = trim(std::string_view(raw).substr(0, raw.find('#')));
    if (line.empty()) continue;
    const std::string where = source + ":" + std::to_string(number);
    HostSlots entry = parse_line(line, where);
    for (const HostSlots& seen : hosts) {
      if (seen.host == entry.host) throw UsageError(format_error(where, "host '" + entry.host + "' is listed twice"));
    }
    hosts.push_back(std::move(entry));
  }
  return hosts;
}

std::vector<HostSlots> read_hostfile(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw UsageError(format_error(path, "cannot read the hostfile", {}, "a file of '<host> slots=<N>' lines"));
  std::stringstream text;
  text << file.rdbuf();
  std::vector<HostSlots> hosts = parse_hostfile(text.str(), path);
  if (hosts.empty()) throw UsageError(format_error(path, "the hostfile lists no host", {}, "'<host> slots=<N>' lines"));
  return hosts;
}

std::vector<NodeSlots> select_slots(const std::vector<HostSlots>& hosts, const std::string& include, const std::string& exclude) {
  if (!include.empty() && !exclude.empty()) {
    throw UsageError(format_error("--include/--exclude", "use one or the other, not both"));
  }
  if (hosts.empty()) throw UsageError(format_error("launch", "the hostfile lists no host"));
  std::map<std::string, std::set<int>> inc = include.empty() ? decltype(inc){} : parse_filter(include, "--include", hosts);
  std::map<std::string, std::set<int>> exc = exclude.empty() ? decltype(exc){} : parse_filter(exclude, "--exclude", hosts);
  std::vector<NodeSlots> nodes;
  for (const HostSlots& h : hosts) {
    std::vector<int> slots = all_slots(h.slots);
    if (!include.empty()) {
      auto it = inc.find(h.host);
      if (it == inc.end()) continue;
      if (!it->second.empty()) slots.assign(it->second.begin(), it->second.end());
    } else if (auto it = exc.find(h.host); it != exc.end()) {
      if (it->second.empty()) continue;
      std::erase_if(slots, [&](int s) { return it->second.count(s) > 0; });
    }
    if (!slots.empty()) nodes.push_back({h.host, std::move(slots)});
  }
  if (nodes.empty()) throw UsageError(format_error(include.empty() ? "--exclude '" + exclude + "'" : "--include '" + include + "'",
                                                   "leaves no slot to run on"));
  return nodes;
}

}  // namespace ds::launch
