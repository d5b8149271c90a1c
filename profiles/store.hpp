#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "profiles/migrations.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace ds::profiles {

/// SQLite said SQLITE_BUSY/SQLITE_LOCKED. Inside Store::transaction it is caught and the whole
/// transaction retried; it only reaches a caller when another process held the write lock for
/// longer than StoreOptions::max_busy_wait_ms.
class StoreBusyError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

/// One prepared SQL statement; finalized when it goes out of scope. Parameters are numbered
/// from 1 (`?`, `?NNN`) or named (`:name`, `@name`, `$name`); result columns from 0 or by name.
/// Errors throw RuntimeError naming the database file and the SQL.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind_int(int index, std::int64_t value);
  Statement& bind_double(int index, double value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, const void* data, std::size_t bytes);
  Statement& bind_null(int index);
  /// Binds by C++ type: integers and bool as INTEGER, floating point as REAL, strings as TEXT,
  /// nullptr and an empty std::optional as NULL.
  template <typename T>
  Statement& bind(int index, const T& value);
  /// Same, by parameter name including its prefix (":rows"); unknown names throw.
  template <typename T>
  Statement& bind(std::string_view name, const T& value) { return bind(parameter_index(name), value); }
  /// Binds the arguments to parameters 1..N in order.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    return *this;
  }

  /// Advances: true while a result row is ready, false when the statement is done.
  bool step();
  /// Steps to completion, ignoring any rows (for INSERT/UPDATE/DELETE).
  void run();
  /// Rewinds for another execution and clears the bindings.
  void reset();

  int column_count() const;
  std::string column_name(int column) const;
  /// Index of the result column called `name`; throws when there is none.
  int column_index(std::string_view name) const;
  bool is_null(int column) const;
  std::int64_t get_int(int column) const;
  double get_double(int column) const;
  std::string get_text(int column) const;  ///< NULL reads as ""
  std::vector<std::uint8_t> get_blob(int column) const;
  bool is_null(std::string_view name) const { return is_null(column_index(name)); }
  std::int64_t get_int(std::string_view name) const { return get_int(column_index(name)); }
  double get_double(std::string_view name) const { return get_double(column_index(name)); }
  std::string get_text(std::string_view name) const { return get_text(column_index(name)); }

  /// True when the statement cannot change the database (SELECT, read-only PRAGMA).
  bool read_only() const;
  const std::string& sql() const { return sql_; }

 private:
  int parameter_index(std::string_view name) const;
  void check_bind(int rc, int index);
  void check_column(int column) const;

  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Store;

/// The handle a transaction body writes through. Only valid inside Store::transaction.
class Transaction {
 public:
  /// Runs one or more ';'-separated statements without results.
  void exec(std::string_view sql);
  /// A statement that may write (the Store refuses writes outside a transaction).
  Statement prepare(std::string_view sql);
  /// Rowid of the last INSERT on this connection.
  std::int64_t last_insert_rowid() const;
  /// Rows changed by the last INSERT/UPDATE/DELETE.
  int changes() const;

 private:
  friend class Store;
  explicit Transaction(Store& store) : store_(store) {}
  Store& store_;
};

/// Knobs of a Store; the defaults suit several `ds` processes sharing one file.
struct StoreOptions {
  int busy_timeout_ms = 5000;       ///< SQLite waits this long for a lock before SQLITE_BUSY
  int max_busy_wait_ms = 120000;    ///< total time a transaction keeps retrying on SQLITE_BUSY
  /// Schema steps to apply; empty means schema_migrations(). Tests pass their own.
  std::vector<Migration> migrations;
};

/// ds's database: one SQLite file (or ":memory:") in WAL mode with foreign keys on,
/// synchronous=NORMAL and a busy timeout; the schema is brought up to date when it opens.
/// One Store per thread (a connection is not shared); any number of processes may open the same
/// file. Every write goes through transaction(), which takes the write lock up front
/// (BEGIN IMMEDIATE) and retries with backoff on SQLITE_BUSY, so concurrent writers neither lose
/// rows nor fail with "database is locked". A read statement stepped but not finished pins an
/// old snapshot of the file: finish, reset or drop it before writing through the same Store.
class Store {
 public:
  /// Opens (creating if needed) `path` and applies pending migrations in one transaction.
  /// Throws RuntimeError naming the file when it is not a SQLite database, cannot be opened,
  /// or was written by a newer ds (a schema version above the latest migration).
  explicit Store(const std::filesystem::path& path, StoreOptions options = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  /// Runs `body(Transaction&)` inside BEGIN IMMEDIATE ... COMMIT and returns what it returns.
  /// An exception from the body rolls everything back and propagates. On SQLITE_BUSY the whole
  /// body runs again after a randomized backoff, so it must not have effects outside the
  /// database (or they must tolerate repetition). A transaction inside a transaction joins it.
  template <typename F>
  auto transaction(F&& body) {
    using Result = std::invoke_result_t<F&, Transaction&>;
    if constexpr (std::is_void_v<Result>) {
      run_transaction([&](Transaction& tx) { body(tx); });
    } else {
      std::optional<Result> result;
      run_transaction([&](Transaction& tx) { result.emplace(body(tx)); });
      return std::move(*result);
    }
  }

  /// A read-only statement; statements that would write are refused outside transaction().
  Statement prepare(std::string_view sql);

  /// Highest migration version applied to this file.
  int schema_version();
  const std::filesystem::path& path() const { return path_; }
  bool in_transaction() const { return in_transaction_; }

 private:
  friend class Transaction;
  void run_transaction(const std::function<void(Transaction&)>& body);
  /// Runs `work` again after a backoff while it throws StoreBusyError, up to max_busy_wait_ms.
  void retry_while_busy(const std::function<void()>& work);
  void configure_connection();
  void migrate(const std::vector<Migration>& migrations);

  std::filesystem::path path_;
  StoreOptions options_;
  sqlite3* db_ = nullptr;
  bool in_transaction_ = false;
};

/// The database used when --db is not given: $DS_HOME/ds.db when DS_HOME is set, otherwise
/// ~/.cache/ds/ds.db. Creates the directory. Throws RuntimeError when neither DS_HOME nor HOME
/// is set or the directory cannot be created.
std::filesystem::path default_db_path();

/// `flag` (the global --db) when not empty, else default_db_path().
std::filesystem::path resolve_db_path(const std::string& flag);

/// What a database file holds, read without creating or migrating it (for `ds env`).
struct DbStatus {
  bool exists = false;
  int schema_version = 0;  ///< highest applied migration; 0 when absent or empty
  int latest_version = 0;  ///< what this ds would migrate it to
  std::string error;       ///< why it could not be read; empty when fine
};
DbStatus inspect_db(const std::filesystem::path& path);

/// The SQLite library version this process runs with, e.g. "3.40.1".
std::string sqlite_version();

// Binding by type; defined here so any arithmetic or string type works without overload clashes.
template <typename T>
Statement& Statement::bind(int index, const T& value) {
  using V = std::decay_t<T>;
  if constexpr (std::is_same_v<V, std::nullptr_t> || std::is_same_v<V, std::nullopt_t>) {
    return bind_null(index);
  } else if constexpr (std::is_integral_v<V>) {
    return bind_int(index, static_cast<std::int64_t>(value));
  } else if constexpr (std::is_floating_point_v<V>) {
    return bind_double(index, static_cast<double>(value));
  } else if constexpr (std::is_convertible_v<const V&, std::string_view>) {
    return bind_text(index, std::string_view(value));
  } else {
    // std::optional<U>: the value or NULL
    return value ? bind(index, *value) : bind_null(index);
  }
}

}  // namespace ds::profiles
