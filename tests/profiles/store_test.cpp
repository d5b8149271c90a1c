#include "profiles/store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "tests/profiles/store_test_helpers.hpp"
#include "tests/support/scoped_env.hpp"

namespace ds::profiles {
namespace {
namespace fs = std::filesystem;

using store_testing::TempDir;

std::vector<Migration> two_steps() {
  return {{1, "items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"},
          {2, "seed", "INSERT INTO items (name) VALUES ('seed')"}};
}

StoreOptions with(std::vector<Migration> migrations) {
  StoreOptions options;
  options.migrations = std::move(migrations);
  return options;
}

std::int64_t count_rows(Store& store, const std::string& table) {
  auto st = store.prepare("SELECT count(*) FROM " + table);
  st.step();
  return st.get_int(0);
}

TEST(Store, MigrationsApplyOnceAndReopeningIsIdempotent) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  {
    Store store(file, with(two_steps()));
    EXPECT_EQ(store.schema_version(), 2);
    EXPECT_EQ(count_rows(store, "items"), 1);
  }
  Store again(file, with(two_steps()));
  EXPECT_EQ(again.schema_version(), 2);
  EXPECT_EQ(count_rows(again, "items"), 1);  // the seed migration did not run twice
  EXPECT_EQ(count_rows(again, "schema_migrations"), 2);
}

TEST(Store, ANewerDsAppendsOnlyItsNewMigrations) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  { Store store(file, with(two_steps())); }
  auto three = two_steps();
  three.push_back({3, "more", "INSERT INTO items (name) VALUES ('third')"});
  Store store(file, with(three));
  EXPECT_EQ(store.schema_version(), 3);
  EXPECT_EQ(count_rows(store, "items"), 2);
  auto st = store.prepare("SELECT name FROM schema_migrations WHERE version = 3");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.get_text("name"), "more");
}

TEST(Store, AStepLandingBelowAnAppliedOneIsStillApplied) {
  // Versions need only increase: 4 may land in ds after 5 (ds tune's tables after ds bench's).
  TempDir dir;
  const auto file = dir.path / "ds.db";
  auto with_gap = two_steps();
  with_gap.push_back({5, "fifth", "INSERT INTO items (name) VALUES ('fifth')"});
  { Store store(file, with(with_gap)); }
  auto filled = two_steps();
  filled.push_back({4, "fourth", "INSERT INTO items (name) VALUES ('fourth')"});
  filled.push_back(with_gap.back());
  Store store(file, with(filled));
  EXPECT_EQ(store.schema_version(), 5);
  EXPECT_EQ(count_rows(store, "items"), 3);
  EXPECT_EQ(count_rows(store, "schema_migrations"), 4);
  Store again(file, with(filled));  // nothing left to apply
  EXPECT_EQ(count_rows(again, "items"), 3);
}

TEST(Store, AFailingMigrationLeavesTheFileUntouched) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  auto broken = two_steps();
  broken.push_back({3, "broken", "CREATE TABLE oops (x"});
  const auto message = store_testing::runtime_error_of([&] { Store store(file, with(broken)); });
  EXPECT_NE(message.find("SQLite error in `CREATE TABLE oops (x`"), std::string::npos) << message;
  // All pending migrations share one transaction: not even version 1 is recorded.
  EXPECT_EQ(inspect_db(file).schema_version, 0);
  Store store(file, with(two_steps()));
  EXPECT_EQ(store.schema_version(), 2);
}

TEST(Store, FileDatabasesUseWalNormalSyncForeignKeysAndABusyTimeout) {
  TempDir dir;
  Store store(dir.path / "ds.db");
  auto pragma = [&](const std::string& name) {
    auto st = store.prepare("SELECT * FROM pragma_" + name);  // the read-only form of PRAGMA
    st.step();
    return st.get_text(0);
  };
  EXPECT_EQ(pragma("journal_mode"), "wal");
  EXPECT_EQ(pragma("synchronous"), "1");  // NORMAL
  EXPECT_EQ(pragma("foreign_keys"), "1");
  EXPECT_EQ(pragma("busy_timeout"), "5000");
}

TEST(Store, TheParentDirectoryIsCreated) {
  TempDir dir;
  Store store(dir.path / "a" / "b" / "ds.db");
  EXPECT_TRUE(fs::exists(dir.path / "a" / "b" / "ds.db"));
}

TEST(Store, AnExceptionInsideATransactionRollsEverythingBack) {
  Store store(":memory:", with(two_steps()));
  struct Boom {};
  EXPECT_THROW(store.transaction([](Transaction& tx) {
    for (int i = 0; i < 10; ++i) tx.prepare("INSERT INTO items (name) VALUES (?)").bind(1, i).run();
    throw Boom{};
  }),
               Boom);
  EXPECT_EQ(count_rows(store, "items"), 1);
  EXPECT_FALSE(store.in_transaction());
  // The store is usable afterwards.
  store.transaction([](Transaction& tx) { tx.exec("INSERT INTO items (name) VALUES ('after')"); });
  EXPECT_EQ(count_rows(store, "items"), 2);
}

TEST(Store, TransactionsReturnValuesAndNestedOnesJoinTheOuter) {
  Store store(":memory:", with(two_steps()));
  const auto id = store.transaction([](Transaction& tx) {
    tx.exec("INSERT INTO items (name) VALUES ('x')");
    EXPECT_EQ(tx.changes(), 1);
    return tx.last_insert_rowid();
  });
  EXPECT_EQ(id, 2);
  EXPECT_THROW(store.transaction([&](Transaction& outer) {
    outer.exec("INSERT INTO items (name) VALUES ('outer')");
    store.transaction([](Transaction& inner) { inner.exec("INSERT INTO items (name) VALUES ('inner')"); });
    throw RuntimeError("abort");
  }),
               RuntimeError);
  EXPECT_EQ(count_rows(store, "items"), 2);  // neither the outer nor the joined inner insert stayed
}

TEST(Store, WritesOutsideATransactionAreRefused) {
  Store store(":memory:", with(two_steps()));
  EXPECT_EQ(store_testing::runtime_error_of([&] { store.prepare("DELETE FROM items"); }),
            ":memory:: write statement outside a transaction (got DELETE FROM items); "
            "hint: run it inside store.transaction([&](Transaction& tx) { ... })");
}

TEST(Store, WritingWithAReadStatementLeftOpenIsNamedNotWaitedOn) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  auto options = with(two_steps());
  options.max_busy_wait_ms = 60000;
  Store a(file, options);
  Store b(file, options);
  auto open_read = a.prepare("SELECT name FROM items");
  ASSERT_TRUE(open_read.step());  // `a` now holds a read snapshot
  b.transaction([](Transaction& tx) { tx.exec("INSERT INTO items (name) VALUES ('b')"); });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(store_testing::runtime_error_of(
                [&] { a.transaction([](Transaction& tx) { tx.exec("INSERT INTO items (name) VALUES ('a')"); }); }),
            file.string() +
                ": cannot write while a read statement of this Store is still open (got database is locked); "
                "hint: step it to the end, reset() it or let it go out of scope before store.transaction(...)");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  open_read.reset();
  a.transaction([](Transaction& tx) { tx.exec("INSERT INTO items (name) VALUES ('a')"); });
  EXPECT_EQ(count_rows(a, "items"), 3);
}

TEST(Store, ADatabaseFromANewerDsIsRefusedWithBothVersions) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  { Store store(file, with(two_steps())); }
  auto older = two_steps();
  older.pop_back();
  EXPECT_EQ(store_testing::runtime_error_of([&] { Store store(file, with(older)); }),
            file.string() +
                ": database schema is newer than this ds understands (got version 2); expected at most version 1; "
                "hint: it was written by a newer ds; upgrade ds, or pass --db (or set DS_HOME) to use another "
                "database");
}

TEST(Store, AGarbageFileIsNamedWithAHint) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  std::ofstream(file) << std::string(4096, 'x');
  EXPECT_EQ(store_testing::runtime_error_of([&] { Store store(file); }),
            file.string() +
                ": not a usable ds database (got file is not a database); expected a SQLite file written by ds; "
                "hint: move the file away (ds then creates a new one) or pass --db PATH");
  const auto status = inspect_db(file);
  EXPECT_TRUE(status.exists);
  EXPECT_NE(status.error.find("not a usable ds database"), std::string::npos);
}

TEST(Store, ASQLiteFileOfSomeoneElseIsNotTakenOver) {
  TempDir dir;
  const auto file = dir.path / "other.db";
  {
    Store foreign(file, with({{1, "theirs", "CREATE TABLE theirs (x)"}}));
    foreign.transaction([](Transaction& tx) { tx.exec("DROP TABLE schema_migrations"); });
  }
  EXPECT_EQ(store_testing::runtime_error_of([&] { Store store(file); }),
            file.string() +
                ": a SQLite database that ds did not create (got 1 foreign tables); expected a ds database or a "
                "new file; hint: pass --db with another path");
}

TEST(Store, AnUnopenablePathIsNamed) {
  const auto message = store_testing::runtime_error_of([] { Store store("/proc/ds_cannot_be_here/ds.db"); });
  EXPECT_EQ(message.rfind("/proc/ds_cannot_be_here/ds.db: cannot open the database (got ", 0), 0u) << message;
}

TEST(Store, DefaultPathHonoursDsHomeThenHome) {
  TempDir dir;
  {
    test::ScopedEnv ds_home("DS_HOME", (dir.path / "home").c_str());
    EXPECT_EQ(default_db_path(), dir.path / "home" / "ds.db");
    EXPECT_TRUE(fs::is_directory(dir.path / "home"));
    EXPECT_EQ(resolve_db_path(""), dir.path / "home" / "ds.db");
    EXPECT_EQ(resolve_db_path("/x/y.db"), fs::path("/x/y.db"));
  }
  test::ScopedEnv no_ds_home("DS_HOME", nullptr);
  test::ScopedEnv home("HOME", dir.path.c_str());
  EXPECT_EQ(default_db_path(), dir.path / ".cache" / "ds" / "ds.db");
  EXPECT_TRUE(fs::is_directory(dir.path / ".cache" / "ds"));
  test::ScopedEnv no_home("HOME", nullptr);
  EXPECT_EQ(store_testing::runtime_error_of([] { default_db_path(); }),
            "ds database: no place for the database (got neither DS_HOME nor HOME is set); "
            "hint: set DS_HOME to a writable directory or pass --db PATH");
}

TEST(Store, InspectReadsWithoutCreating) {
  TempDir dir;
  const auto file = dir.path / "ds.db";
  auto status = inspect_db(file);
  EXPECT_FALSE(status.exists);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(status.latest_version, latest_version(schema_migrations()));
  { Store store(file); }
  status = inspect_db(file);
  EXPECT_TRUE(status.exists);
  EXPECT_EQ(status.schema_version, status.latest_version);
  EXPECT_EQ(status.error, "");
}

TEST(Store, ReportsTheSqliteLibraryVersion) { EXPECT_EQ(sqlite_version().rfind("3.", 0), 0u); }

}  // namespace
}  // namespace ds::profiles
