#include "profiles/migrations.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "common/build_info.hpp"
#include "profiles/bench_tables.hpp"
#include "profiles/profile_store.hpp"
#include "profiles/store.hpp"
#include "profiles/trials.hpp"
#include "profiles/tune_tables.hpp"
#include "tests/profiles/store_test_helpers.hpp"

namespace ds::profiles {
namespace {

using store_testing::runtime_error_of;
using store_testing::TempDir;

StoreOptions with(std::vector<Migration> migrations) {
  StoreOptions options;
  options.migrations = std::move(migrations);
  return options;
}

bool has_table(Store& store, const std::string& name) {
  auto st = store.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
  st.bind(1, name);
  st.step();
  return st.get_int(0) == 1;
}

std::string meta(Store& store, const std::string& key) {
  auto st = store.prepare("SELECT value FROM meta WHERE key = ?");
  st.bind(1, key);
  return st.step() ? st.get_text(0) : "(absent)";
}

TEST(Migrations, ListsAreValidated) {
  EXPECT_EQ(runtime_error_of([] { validate_migrations({{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}}); }),
            "schema migration #1 'a': version out of order (got 1); expected a version above 2");
  EXPECT_EQ(runtime_error_of([] { validate_migrations({{1, "a", " ; "}}); }), "schema migration #0 'a': empty SQL");
  EXPECT_NO_THROW(validate_migrations(schema_migrations()));
  EXPECT_EQ(latest_version({}), 0);
}

TEST(Migrations, ZeroDuplicateVersionsAndBlankSqlAreRefusedGapsAreNot) {
  EXPECT_EQ(runtime_error_of([] { validate_migrations({{0, "zero", "SELECT 1"}}); }),
            "schema migration #0 'zero': version out of order (got 0); expected a version above 0");
  EXPECT_EQ(runtime_error_of([] { validate_migrations({{1, "a", "SELECT 1"}, {1, "again", "SELECT 2"}}); }),
            "schema migration #1 'again': version out of order (got 1); expected a version above 1");
  EXPECT_EQ(runtime_error_of([] { validate_migrations({{1, "a", "SELECT 1"}, {2, "blank", "\n\t;;\n"}}); }),
            "schema migration #1 'blank': empty SQL");
  EXPECT_NO_THROW(validate_migrations({}));
  const std::vector<Migration> gaps = {{1, "a", "SELECT 1"}, {4, "b", "SELECT 1"}, {9, "c", "SELECT 1"}};
  EXPECT_NO_THROW(validate_migrations(gaps));
  EXPECT_EQ(latest_version(gaps), 9);
}

TEST(Migrations, ReleasedStepsKeepTheirVersionsNamesAndTables) {
  const auto& list = schema_migrations();
  ASSERT_GE(list.size(), 5u);
  const char* names[] = {"meta", "profiles", "trials", "tune", "bench"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(list[i].version, i + 1);
    EXPECT_EQ(list[i].name, names[i]);
  }
  EXPECT_EQ(list[1].sql, profile_tables_sql());
  EXPECT_EQ(list[2].sql, trial_tables_sql());
  EXPECT_EQ(list[3].sql, tune_tables_sql());
  EXPECT_EQ(list[4].sql, bench_tables_sql());
  EXPECT_EQ(latest_version(list), list.back().version);
  EXPECT_EQ(&schema_migrations(), &list);  // built once
}

TEST(Migrations, MetaStepRecordsCreationTimeAndDsVersion) {
  Store store(":memory:");
  EXPECT_EQ(store.schema_version(), latest_version(schema_migrations()));
  EXPECT_EQ(meta(store, "ds_version"), build_info().version);
  const std::string created_at = meta(store, "created_at");
  EXPECT_TRUE(std::regex_match(created_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"))) << created_at;
}

TEST(Migrations, AnOlderDatabaseIsBroughtToTheLatestVersionKeepingItsRows) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  std::string created_at;
  {
    Store old(file, with({schema_migrations()[0], schema_migrations()[1], schema_migrations()[2]}));
    ASSERT_EQ(old.schema_version(), 3);
    EXPECT_FALSE(has_table(old, "tune_runs"));
    created_at = meta(old, "created_at");
  }
  Store store(file);
  EXPECT_EQ(store.schema_version(), latest_version(schema_migrations()));
  for (const char* table : {"machines", "trials", "tune_runs", "tune_calibrations", "bench_runs", "bench_baselines"}) {
    EXPECT_TRUE(has_table(store, table)) << table;
  }
  EXPECT_EQ(meta(store, "created_at"), created_at);  // step 1 did not run again
  auto st = store.prepare("SELECT count(*) FROM schema_migrations");
  st.step();
  EXPECT_EQ(st.get_int(0), static_cast<std::int64_t>(schema_migrations().size()));
}

TEST(Migrations, ADatabaseFromANewerDsIsRefusedNamingBothVersions) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  const int latest = latest_version(schema_migrations());
  {
    auto newer = schema_migrations();
    newer.push_back({latest + 1, "future", "CREATE TABLE future (x)"});
    Store store(file, with(newer));
  }
  EXPECT_EQ(runtime_error_of([&] { Store store(file); }),
            file.string() + ": database schema is newer than this ds understands (got version " +
                std::to_string(latest + 1) + "); expected at most version " + std::to_string(latest) +
                "; hint: it was written by a newer ds; upgrade ds, or pass --db (or set DS_HOME) to use another "
                "database");
}

}  // namespace
}  // namespace ds::profiles
