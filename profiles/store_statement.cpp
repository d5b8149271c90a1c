// The typed statement wrapper of profiles/store.hpp and the SQLite → ds::Error mapping.
#include <sqlite3.h>

#include <cstring>

#include "profiles/store.hpp"
#include "profiles/store_sqlite.hpp"

namespace ds::profiles {
namespace detail {

std::string db_label(sqlite3* db) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  return (file && *file) ? std::string(file) : std::string(":memory:");
}

void throw_sqlite_error(sqlite3* db, int rc, std::string_view sql, const char* message) {
  const std::string where = db_label(db);
  std::string got = message ? message : (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  const int primary = rc & 0xff;
  if (rc == SQLITE_BUSY_SNAPSHOT) {
    // Every ds write starts with BEGIN IMMEDIATE, so a stale snapshot can only come from a read
    // statement of this same connection left mid-way; waiting would never end.
    throw RuntimeError(format_error(where, "cannot write while a read statement of this Store is still open", got,
                                    "", "step it to the end, reset() it or let it go out of scope before "
                                        "store.transaction(...)"));
  }
  if (is_busy(rc)) {
    throw StoreBusyError(format_error(where, "the database is locked by another connection", got));
  }
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    throw RuntimeError(format_error(where, "not a usable ds database", got, "a SQLite file written by ds",
                                    "move the file away (ds then creates a new one) or pass --db PATH"));
  }
  constexpr std::size_t kMaxSql = 120;
  std::string shown(sql.substr(0, kMaxSql));
  if (sql.size() > kMaxSql) shown += "...";
  throw RuntimeError(format_error(where, "SQLite error in `" + shown + "`", got));
}

}  // namespace detail

Statement::Statement(sqlite3* db, std::string_view sql) : sql_(sql) {
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql_.data(), static_cast<int>(sql_.size()), &stmt_, &tail);
  if (rc != SQLITE_OK) detail::throw_sqlite_error(db, rc, sql_);
  const std::string_view rest(tail, sql_.data() + sql_.size() - tail);
  const bool only_blanks = rest.find_first_not_of(" \t\r\n;") == std::string_view::npos;
  const bool empty = stmt_ == nullptr;
  if (empty || !only_blanks) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    throw RuntimeError(format_error(detail::db_label(db), "cannot prepare `" + sql_ + "`",
                                    empty ? "no SQL" : "more than one statement",
                                    "exactly one SQL statement", "use Transaction::exec for scripts"));
  }
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::check_bind(int rc, int index) {
  if (rc == SQLITE_RANGE) {
    throw RuntimeError(format_error(detail::db_label(sqlite3_db_handle(stmt_)),
                                    "no parameter " + std::to_string(index) + " in `" + sql_ + "`",
                                    std::to_string(index),
                                    "1.." + std::to_string(sqlite3_bind_parameter_count(stmt_))));
  }
  if (rc != SQLITE_OK) detail::throw_sqlite_error(sqlite3_db_handle(stmt_), rc, sql_);
}

Statement& Statement::bind_int(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind_double(int index, double value) {
  check_bind(sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
  check_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
  return *this;
}

Statement& Statement::bind_blob(int index, const void* data, std::size_t bytes) {
  check_bind(sqlite3_bind_blob64(stmt_, index, data, bytes, SQLITE_TRANSIENT), index);
  return *this;
}

Statement& Statement::bind_null(int index) {
  check_bind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

int Statement::parameter_index(std::string_view name) const {
  const int index = sqlite3_bind_parameter_index(stmt_, std::string(name).c_str());
  if (index == 0) {
    throw RuntimeError(format_error(detail::db_label(sqlite3_db_handle(stmt_)),
                                    "no parameter named '" + std::string(name) + "' in `" + sql_ + "`"));
  }
  return index;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Reset so the statement can run again after a retry; the error code is what step returned.
  sqlite3* db = sqlite3_db_handle(stmt_);
  const std::string message = sqlite3_errmsg(db);
  sqlite3_reset(stmt_);
  detail::throw_sqlite_error(db, rc, sql_, message.c_str());
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

std::string Statement::column_name(int column) const {
  const char* name = sqlite3_column_name(stmt_, column);
  return name ? name : "";
}

int Statement::column_index(std::string_view name) const {
  const int count = column_count();
  std::string names;
  for (int i = 0; i < count; ++i) {
    const std::string candidate = column_name(i);
    if (candidate == name) return i;
    names += (i ? ", " : "") + candidate;
  }
  throw RuntimeError(format_error(detail::db_label(sqlite3_db_handle(stmt_)),
                                  "no result column '" + std::string(name) + "' in `" + sql_ + "`", "",
                                  "one of: " + names));
}

void Statement::check_column(int column) const {
  const int count = column_count();
  if (column < 0 || column >= count) {
    throw RuntimeError(format_error(detail::db_label(sqlite3_db_handle(stmt_)),
                                    "no result column " + std::to_string(column) + " in `" + sql_ + "`",
                                    std::to_string(column), "0.." + std::to_string(count - 1)));
  }
}

bool Statement::is_null(int column) const {
  check_column(column);
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::get_int(int column) const {
  check_column(column);
  return sqlite3_column_int64(stmt_, column);
}

double Statement::get_double(int column) const {
  check_column(column);
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::get_text(int column) const {
  check_column(column);
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::vector<std::uint8_t> Statement::get_blob(int column) const {
  check_column(column);
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const auto bytes = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return data ? std::vector<std::uint8_t>(data, data + bytes) : std::vector<std::uint8_t>();
}

bool Statement::read_only() const { return sqlite3_stmt_readonly(stmt_) != 0; }

}  // namespace ds::profiles
