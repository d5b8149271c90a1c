#include <gtest/gtest.h>

#include "profiles/store.hpp"
#include "tests/profiles/store_test_helpers.hpp"

namespace ds::profiles {
namespace {

class StatementTest : public ::testing::Test {
 protected:
  static StoreOptions options() {
    StoreOptions o;
    o.migrations = {{1, "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, x REAL, s TEXT UNIQUE, b BLOB)"}};
    return o;
  }
  Store store_{":memory:", options()};
};

TEST_F(StatementTest, BindsByTypeAndReadsByIndexAndName) {
  store_.transaction([](Transaction& tx) {
    tx.prepare("INSERT INTO t (n, x, s) VALUES (?, ?, ?)").bind_all(42, 2.5, std::string("forty-two")).run();
    tx.prepare("INSERT INTO t (n, x, s) VALUES (:n, :x, :s)")
        .bind(":n", std::int64_t{1} << 40)
        .bind(":x", 1.0f)
        .bind(":s", "tera")
        .run();
    tx.prepare("INSERT INTO t (n, x, s) VALUES (?, ?, ?)")
        .bind_all(std::optional<int>{}, nullptr, std::string_view("nulls"))
        .run();
  });
  auto st = store_.prepare("SELECT n, x, s FROM t ORDER BY id");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.get_int(0), 42);
  EXPECT_DOUBLE_EQ(st.get_double("x"), 2.5);
  EXPECT_EQ(st.get_text("s"), "forty-two");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.get_int("n"), std::int64_t{1} << 40);
  ASSERT_TRUE(st.step());
  EXPECT_TRUE(st.is_null("n"));
  EXPECT_TRUE(st.is_null(1));
  EXPECT_EQ(st.get_text("s"), "nulls");
  EXPECT_FALSE(st.step());
  EXPECT_EQ(st.column_count(), 3);
  EXPECT_EQ(st.column_name(2), "s");
  EXPECT_TRUE(st.read_only());
}

TEST_F(StatementTest, BlobsAndTextWithZerosRoundTrip) {
  const std::vector<std::uint8_t> bytes{0, 1, 2, 255, 0};
  const std::string text("a\0b", 3);
  store_.transaction([&](Transaction& tx) {
    tx.prepare("INSERT INTO t (s, b) VALUES (?, ?)").bind(1, text).bind_blob(2, bytes.data(), bytes.size()).run();
  });
  auto st = store_.prepare("SELECT s, b FROM t");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.get_text(0), text);
  EXPECT_EQ(st.get_blob(1), bytes);
}

TEST_F(StatementTest, ResetAllowsReuseWithNewBindings) {
  store_.transaction([](Transaction& tx) {
    auto insert = tx.prepare("INSERT INTO t (n) VALUES (?)");
    for (int i = 1; i <= 5; ++i) {
      insert.bind(1, i).run();
      insert.reset();
    }
  });
  auto sum = store_.prepare("SELECT sum(n) FROM t WHERE n >= ?");
  sum.bind(1, 2);
  ASSERT_TRUE(sum.step());
  EXPECT_EQ(sum.get_int(0), 14);
  sum.reset();
  sum.bind(1, 5);
  ASSERT_TRUE(sum.step());
  EXPECT_EQ(sum.get_int(0), 5);
}

TEST_F(StatementTest, StatementsMove) {
  auto a = store_.prepare("SELECT 7");
  Statement b = std::move(a);
  ASSERT_TRUE(b.step());
  EXPECT_EQ(b.get_int(0), 7);
  a = store_.prepare("SELECT 8");
  ASSERT_TRUE(a.step());
  EXPECT_EQ(a.get_int(0), 8);
}

TEST_F(StatementTest, MistakesAreNamedExactly) {
  EXPECT_EQ(store_testing::runtime_error_of([&] { store_.prepare("SELECT n FROM t WHERE n = :n").bind(":m", 1); }),
            ":memory:: no parameter named ':m' in `SELECT n FROM t WHERE n = :n`");
  EXPECT_EQ(store_testing::runtime_error_of([&] { store_.prepare("SELECT n FROM t WHERE n = ?").bind(2, 1); }),
            ":memory:: no parameter 2 in `SELECT n FROM t WHERE n = ?` (got 2); expected 1..1");
  EXPECT_EQ(store_testing::runtime_error_of([&] {
              auto st = store_.prepare("SELECT 1 AS one");
              st.step();
              st.get_int("two");
            }),
            ":memory:: no result column 'two' in `SELECT 1 AS one`; expected one of: one");
  EXPECT_EQ(store_testing::runtime_error_of([&] {
              auto st = store_.prepare("SELECT 1");
              st.step();
              st.get_int(1);
            }),
            ":memory:: no result column 1 in `SELECT 1` (got 1); expected 0..0");
  EXPECT_EQ(store_testing::runtime_error_of([&] { store_.prepare("SELECT 1; SELECT 2"); }),
            ":memory:: cannot prepare `SELECT 1; SELECT 2` (got more than one statement); expected exactly one "
            "SQL statement; hint: use Transaction::exec for scripts");
  EXPECT_EQ(store_testing::runtime_error_of([&] { store_.prepare("  "); }),
            ":memory:: cannot prepare `  ` (got no SQL); expected exactly one SQL statement; hint: use "
            "Transaction::exec for scripts");
  EXPECT_EQ(store_testing::runtime_error_of([&] { store_.prepare("SELEC 1"); }),
            ":memory:: SQLite error in `SELEC 1` (got near \"SELEC\": syntax error)");
}

TEST_F(StatementTest, ConstraintViolationsNameTheConstraint) {
  const auto message = store_testing::runtime_error_of([&] {
    store_.transaction([](Transaction& tx) {
      tx.prepare("INSERT INTO t (s) VALUES ('dup')").run();
      tx.prepare("INSERT INTO t (s) VALUES ('dup')").run();
    });
  });
  EXPECT_EQ(message,
            ":memory:: SQLite error in `INSERT INTO t (s) VALUES ('dup')` (got UNIQUE constraint failed: t.s)");
  auto st = store_.prepare("SELECT count(*) FROM t");
  st.step();
  EXPECT_EQ(st.get_int(0), 0);
}

}  // namespace
}  // namespace ds::profiles
