// Internal to profiles/store*.cpp: turning SQLite result codes into ds errors.
#pragma once
#include <sqlite3.h>

#include <string>
#include <string_view>

namespace ds::profiles::detail {

/// The file a connection works on, as users name it ("<memory>" style names for ":memory:").
std::string db_label(sqlite3* db);

/// Throws the ds error for a failed SQLite call: StoreBusyError for SQLITE_BUSY/LOCKED (the
/// transaction loop retries those), a "not a ds database" RuntimeError with a hint for
/// SQLITE_NOTADB/CORRUPT, otherwise RuntimeError with SQLite's message and the SQL.
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, std::string_view sql, const char* message = nullptr);

/// True for SQLITE_BUSY and SQLITE_LOCKED with any extended code.
inline bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

}  // namespace ds::profiles::detail
