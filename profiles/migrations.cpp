#include "profiles/migrations.hpp"

#include "common/build_info.hpp"
#include "common/error.hpp"
#include "profiles/bench_tables.hpp"
#include "profiles/profile_store.hpp"
#include "profiles/trials.hpp"
#include "profiles/tune_tables.hpp"

namespace ds::profiles {
namespace {

// SQL string literal: single quotes doubled (https://sqlite.org/lang_expr.html#literal_values_constants_).
std::string sql_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::vector<Migration> build_migrations() {
  std::vector<Migration> list;
  // 1: who created this file and when; later tables hang nothing off it.
  list.push_back({1, "meta",
                  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                  "INSERT INTO meta (key, value) VALUES"
                  " ('created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),"
                  " ('ds_version', " + sql_quote(build_info().version) + ");"});
  // 2: hardware profiles (issue 5): machines by fingerprint, profiles, measurements.
  list.push_back({2, "profiles", profile_tables_sql()});
  // 3: one row per train/tune/bench run, predicted next to measured (issue 6).
  list.push_back({3, "trials", trial_tables_sql()});
  // 4: ds tune's runs, their ranked candidates and the fitted cost-model coefficients (issue 8).
  list.push_back({4, "tune", tune_tables_sql()});
  // 5: ds bench's runs, per-case results with every sample, and named baselines (issue 10).
  list.push_back({5, "bench", bench_tables_sql()});
  // Append new entries below (version 6, ...) with the issue that needs the table.
  return list;
}

}  // namespace

const std::vector<Migration>& schema_migrations() {
  static const std::vector<Migration> list = [] {
    auto built = build_migrations();
    validate_migrations(built);
    return built;
  }();
  return list;
}

int latest_version(const std::vector<Migration>& migrations) {
  return migrations.empty() ? 0 : migrations.back().version;
}

void validate_migrations(const std::vector<Migration>& migrations) {
  int previous = 0;
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    const auto& m = migrations[i];
    const std::string where = "schema migration #" + std::to_string(i) + " '" + m.name + "'";
    if (m.version <= previous) {
      throw RuntimeError(format_error(where, "version out of order", std::to_string(m.version),
                                      "a version above " + std::to_string(previous)));
    }
    if (m.sql.find_first_not_of(" \t\n;") == std::string::npos) {
      throw RuntimeError(format_error(where, "empty SQL"));
    }
    previous = m.version;
  }
}

}  // namespace ds::profiles
