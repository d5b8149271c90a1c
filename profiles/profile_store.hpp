#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "profiles/machine_info.hpp"
#include "profiles/measurement.hpp"

namespace ds::profiles {

class Store;

/// A stored hardware profile: the machine, when and by which ds, and what was measured.
struct Profile {
  std::int64_t id = 0;        ///< row id in the profiles table (0 before it is stored)
  MachineInfo machine;
  std::string created_at;     ///< ISO-8601 UTC
  std::string ds_version;     ///< version (commit) of the ds that measured it
  bool quick = false;         ///< measured with --quick
  std::string imported_from;  ///< file it was imported from, empty when measured here
  std::vector<Measurement> measurements;
  std::vector<SkippedProbe> skipped;

  /// The first measurement of `probe` whose params contain every key/value of `match`.
  const Measurement* find(const std::string& probe, const nlohmann::json& match = nlohmann::json::object()) const;
};

/// Summary row for `ds profile list`.
struct ProfileSummary {
  std::int64_t id = 0;
  std::string created_at;
  std::string fingerprint;
  std::string cpu_model;
  std::string gpus;  ///< "8x NVIDIA H100 80GB HBM3" or "-"
  int measurements = 0;
  bool quick = false;
  std::string imported_from;
};

/// Saves a profile (machine row found or created by fingerprint) in one transaction; returns its id.
std::int64_t save_profile(Store& store, const Profile& profile);

/// Loads by id, or "latest" (optionally the latest for one machine fingerprint). Throws UsageError
/// naming the id and listing what exists when there is no such profile.
Profile load_profile(Store& store, const std::string& id_or_latest, const std::string& fingerprint = {});

std::vector<ProfileSummary> list_profiles(Store& store);

/// The portable form used by `ds profile export --json` / `ds profile import`.
nlohmann::json profile_to_json(const Profile& profile);
/// Parses an exported profile; throws ConfigError naming `source` and the field on bad input.
Profile profile_from_json(const nlohmann::json& json, const std::string& source);

/// The SQL of the schema step that adds machines, profiles and measurements (for migrations.cpp).
const char* profile_tables_sql();

}  // namespace ds::profiles
