#pragma once
#include <string>
#include <vector>

namespace ds::profiles {

/// One step of the database schema. Steps are applied in ascending `version` order, each exactly
/// once per database file, all pending ones inside one transaction when a Store opens the file.
struct Migration {
  int version = 0;   ///< 1, 2, 3, ...: strictly increasing, never reused once released
  std::string name;  ///< short snake_case description, e.g. "meta"
  std::string sql;   ///< one or more SQL statements separated by ';'
};

/// The central, ordered list of ds's schema migrations. Later issues append their tables here
/// (never edit or reorder a released entry: databases in the field have already applied it).
const std::vector<Migration>& schema_migrations();

/// The highest version in `migrations` (0 for an empty list).
int latest_version(const std::vector<Migration>& migrations);

/// Checks that versions are positive and strictly increasing and that no SQL is empty; throws
/// RuntimeError naming the offending entry (a bug in ds, caught by the unit tests).
void validate_migrations(const std::vector<Migration>& migrations);

}  // namespace ds::profiles
