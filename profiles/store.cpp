#include "profiles/store.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>

#include "common/log.hpp"
#include "profiles/store_sqlite.hpp"

namespace ds::profiles {
namespace fs = std::filesystem;
namespace {

// Runs a script (no results) on a raw connection.
void exec_sql(sqlite3* db, std::string_view sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    detail::throw_sqlite_error(db, rc, sql, text.c_str());
  }
}

// Highest applied migration; 0 for a new file. A file holding tables but no migration record
// was not made by ds: refuse it rather than add our tables to someone else's database.
int read_schema_version(sqlite3* db) {
  // One statement, so both counts come from one snapshot: another process may be committing
  // the first migration right now (two statements could see "no record" and then its tables).
  Statement tables(db,
                   "SELECT count(*) FILTER (WHERE name = 'schema_migrations'), count(*)"
                   " FROM sqlite_master WHERE type = 'table'");
  tables.step();
  if (tables.get_int(0) == 0) {
    if (tables.get_int(1) > 0) {
      throw RuntimeError(format_error(detail::db_label(db), "a SQLite database that ds did not create",
                                      std::to_string(tables.get_int(1)) + " foreign tables",
                                      "a ds database or a new file", "pass --db with another path"));
    }
    return 0;
  }
  Statement st(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  st.step();
  return static_cast<int>(st.get_int(0));
}

// The versions recorded in schema_migrations (none when `version` says the file is new).
std::set<int> applied_versions(sqlite3* db, int version) {
  std::set<int> versions;
  if (version == 0) return versions;
  Statement st(db, "SELECT version FROM schema_migrations");
  while (st.step()) versions.insert(static_cast<int>(st.get_int(0)));
  return versions;
}

bool all_applied(const std::vector<Migration>& migrations, const std::set<int>& applied) {
  for (const auto& m : migrations) {
    if (applied.count(m.version) == 0) return false;
  }
  return true;
}

void check_not_newer(sqlite3* db, int version, int latest) {
  if (version > latest) {
    throw RuntimeError(format_error(detail::db_label(db), "database schema is newer than this ds understands",
                                    "version " + std::to_string(version),
                                    "at most version " + std::to_string(latest),
                                    "it was written by a newer ds; upgrade ds, or pass --db (or set DS_HOME) "
                                    "to use another database"));
  }
}

// Randomized exponential backoff (2 ms doubling to 200 ms, ×[0.5, 1.5)) so that writers woken
// together do not collide again in lockstep.
std::chrono::milliseconds backoff(int attempt) {
  thread_local std::minstd_rand rng(static_cast<unsigned>(::getpid()) * 7919u +
                                    static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  const double base = std::min(200.0, 2.0 * static_cast<double>(1 << std::min(attempt, 7)));
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  return std::chrono::milliseconds(static_cast<long>(base * jitter(rng)) + 1);
}

}  // namespace

void Transaction::exec(std::string_view sql) { exec_sql(store_.db_, sql); }

Statement Transaction::prepare(std::string_view sql) { return Statement(store_.db_, sql); }

std::int64_t Transaction::last_insert_rowid() const { return sqlite3_last_insert_rowid(store_.db_); }

int Transaction::changes() const { return sqlite3_changes(store_.db_); }

Store::Store(const fs::path& path, StoreOptions options) : path_(path), options_(std::move(options)) {
  const bool in_memory = path_ == ":memory:";
  if (!in_memory && path_.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path_.parent_path(), ec);
  }
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  try {
    if (rc != SQLITE_OK) {
      throw RuntimeError(format_error(path_.string(), "cannot open the database",
                                      db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc), "",
                                      "check that the directory exists and is writable, or pass --db PATH"));
    }
    configure_connection();
    migrate(options_.migrations.empty() ? schema_migrations() : options_.migrations);
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() { sqlite3_close_v2(db_); }

void Store::configure_connection() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
  // Switching to WAL needs a brief exclusive lock, so a fresh file opened by several processes
  // at once can see SQLITE_BUSY here too: retry like a transaction. WAL lets readers run while
  // one writer commits (https://sqlite.org/wal.html); NORMAL sync is durable across application
  // crashes in WAL mode and only risks the last commits on power loss.
  retry_while_busy([this] { exec_sql(db_, "PRAGMA journal_mode = WAL"); });
  exec_sql(db_, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON");
}

void Store::migrate(const std::vector<Migration>& migrations) {
  validate_migrations(migrations);
  const int latest = latest_version(migrations);
  int current = 0;
  std::set<int> applied;
  retry_while_busy([&] {
    current = read_schema_version(db_);
    applied = applied_versions(db_, current);
  });
  check_not_newer(db_, current, latest);
  if (all_applied(migrations, applied)) return;
  transaction([&](Transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    // Another process may have migrated between the check above and taking the write lock.
    const int now = read_schema_version(db_);
    check_not_newer(db_, now, latest);
    const std::set<int> done = applied_versions(db_, now);
    // Every step not yet recorded, not only those above the highest: versions need only
    // increase, so a step may land in ds after a higher one (4 "tune" after 5 "bench") and must
    // still reach databases that already have the higher one.
    for (const auto& m : migrations) {
      if (done.count(m.version) != 0) continue;
      log::debug("store: applying schema migration ", m.version, " '", m.name, "' to ", path_.string());
      tx.exec(m.sql);
      tx.prepare("INSERT INTO schema_migrations (version, name, applied_at)"
                 " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))")
          .bind_all(m.version, m.name)
          .run();
    }
  });
}

int Store::schema_version() { return read_schema_version(db_); }

Statement Store::prepare(std::string_view sql) {
  Statement st(db_, sql);
  if (!st.read_only() && !in_transaction_) {
    throw RuntimeError(format_error(path_.string(), "write statement outside a transaction", std::string(sql), "",
                                    "run it inside store.transaction([&](Transaction& tx) { ... })"));
  }
  return st;
}

void Store::retry_while_busy(const std::function<void()>& work) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.max_busy_wait_ms);
  for (int attempt = 0;; ++attempt) {
    try {
      work();
      return;
    } catch (const StoreBusyError&) {
      if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      if (std::chrono::steady_clock::now() >= deadline) {
        const int ms = options_.max_busy_wait_ms;
        const std::string waited = ms < 10000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
        throw StoreBusyError(format_error(path_.string(), "the database stayed locked by other writers for " + waited,
                                          "SQLITE_BUSY", "",
                                          "another ds process is holding the write lock; retry when it is done"));
      }
      std::this_thread::sleep_for(backoff(attempt));
    }
  }
}

void Store::run_transaction(const std::function<void(Transaction&)>& body) {
  Transaction tx(*this);
  if (in_transaction_) {  // nested: join the outer transaction, which commits or rolls back
    body(tx);
    return;
  }
  retry_while_busy([&] {
    // BEGIN IMMEDIATE takes the write lock now, waiting busy_timeout for it: a deferred
    // transaction that reads first and writes later can deadlock against another writer and
    // fail at once with SQLITE_BUSY (https://sqlite.org/lang_transaction.html).
    exec_sql(db_, "BEGIN IMMEDIATE");
    in_transaction_ = true;
    try {
      body(tx);
      exec_sql(db_, "COMMIT");
      in_transaction_ = false;
    } catch (...) {
      in_transaction_ = false;
      if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  });
}

fs::path default_db_path() {
  fs::path dir;
  if (const char* ds_home = std::getenv("DS_HOME"); ds_home && *ds_home) {
    dir = ds_home;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    dir = fs::path(home) / ".cache" / "ds";
  } else {
    throw RuntimeError(format_error("ds database", "no place for the database", "neither DS_HOME nor HOME is set",
                                    "", "set DS_HOME to a writable directory or pass --db PATH"));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw RuntimeError(format_error(dir.string(), "cannot create the database directory", ec.message(), "",
                                    "set DS_HOME to a writable directory or pass --db PATH"));
  }
  return dir / "ds.db";
}

fs::path resolve_db_path(const std::string& flag) { return flag.empty() ? default_db_path() : fs::path(flag); }

DbStatus inspect_db(const fs::path& path) {
  DbStatus status;
  status.latest_version = latest_version(schema_migrations());
  std::error_code ec;
  status.exists = fs::is_regular_file(path, ec);
  if (!status.exists) return status;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  try {
    if (rc != SQLITE_OK) detail::throw_sqlite_error(db, rc, "open");
    sqlite3_busy_timeout(db, 2000);
    status.schema_version = read_schema_version(db);
  } catch (const Error& e) {
    status.error = e.what();
  }
  sqlite3_close_v2(db);
  return status;
}

std::string sqlite_version() { return sqlite3_libversion(); }

}  // namespace ds::profiles
