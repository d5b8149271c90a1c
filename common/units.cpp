#include "common/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/error.hpp"

namespace ds {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "1.5GiB" into 1.5 and "gib"; false when there is no leading number.
bool split_number(std::string_view text, double& number, std::string& suffix) {
  std::string s(text);
  std::size_t used = 0;
  try {
    number = std::stod(s, &used);
  } catch (...) {
    return false;
  }
  while (used < s.size() && s[used] == ' ') ++used;
  suffix = lower(s.substr(used));
  return std::isfinite(number);
}

}  // namespace

std::string format_bytes(double bytes) {
  char buf[64];
  double a = std::fabs(bytes);
  if (a >= kGiB) std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / kGiB);
  else if (a >= kMiB) std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / kMiB);
  else if (a >= 1024) std::snprintf(buf, sizeof buf, "%.2f KiB", bytes / 1024);
  else std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  return buf;
}

std::string format_count(double count) {
  char buf[64];
  double a = std::fabs(count);
  if (a >= 1e12) std::snprintf(buf, sizeof buf, "%.2f T", count / 1e12);
  else if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.2f B", count / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", count / 1e6);
  else if (a >= 1e3) std::snprintf(buf, sizeof buf, "%.2f K", count / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", count);
  return buf;
}

std::string format_thousands(std::uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n > 0 && n % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++n;
  }
  return out;
}

double parse_bytes(std::string_view text, std::string_view what) {
  double number = 0;
  std::string suffix;
  if (!split_number(text, number, suffix) || number < 0) {
    throw UsageError(format_error(std::string(what), "not a size", "'" + std::string(text) + "'",
                                  "a number of bytes with an optional unit, e.g. 80GB, 80GiB, 512MiB"));
  }
  struct Unit { const char* name; double factor; };
  static const Unit units[] = {{"", 1},          {"b", 1},          {"k", 1024},       {"kb", 1e3},
                               {"kib", 1024},    {"m", kMiB},       {"mb", 1e6},       {"mib", kMiB},
                               {"g", kGiB},      {"gb", 1e9},       {"gib", kGiB},     {"t", kGiB * 1024},
                               {"tb", 1e12},     {"tib", kGiB * 1024}};
  for (const auto& u : units) {
    if (suffix == u.name) return number * u.factor;
  }
  throw UsageError(format_error(std::string(what), "unknown size unit '" + suffix + "'", "'" + std::string(text) + "'",
                                "one of B, KB, KiB, MB, MiB, GB, GiB, TB, TiB"));
}

double parse_count(std::string_view text, std::string_view what) {
  double number = 0;
  std::string suffix;
  if (!split_number(text, number, suffix) || number <= 0) {
    throw UsageError(format_error(std::string(what), "not a positive count", "'" + std::string(text) + "'",
                                  "a number such as 7e9, 7B, 125M"));
  }
  if (suffix.empty()) return number;
  if (suffix == "k") return number * 1e3;
  if (suffix == "m") return number * 1e6;
  if (suffix == "b") return number * 1e9;
  if (suffix == "t") return number * 1e12;
  throw UsageError(format_error(std::string(what), "unknown count suffix '" + suffix + "'", "'" + std::string(text) + "'",
                                "one of K, M, B, T (e.g. 7B)"));
}

}  // namespace ds
