#include "profiles/profile_store.hpp"

#include "common/build_info.hpp"
#include "common/error.hpp"
#include "profiles/store.hpp"

namespace ds::profiles {
namespace {

using nlohmann::json;

json gpus_to_json(const std::vector<GpuInfo>& gpus) {
  json out = json::array();
  for (const auto& g : gpus) out.push_back({{"name", g.name}, {"memory_bytes", g.memory_bytes}, {"sm_count", g.sm_count}});
  return out;
}

std::vector<GpuInfo> gpus_from_json(const json& j) {
  std::vector<GpuInfo> out;
  for (const auto& g : j) out.push_back({g.at("name").get<std::string>(), g.at("memory_bytes").get<std::uint64_t>(), g.value("sm_count", 0)});
  return out;
}

json machine_to_json(const MachineInfo& m) {
  return {{"fingerprint", m.fingerprint()}, {"hostname", m.hostname},       {"cpu_model", m.cpu_model},
          {"cpu_cores", m.cpu_cores},       {"cpu_threads", m.cpu_threads}, {"memory_bytes", m.memory_bytes},
          {"simd", m.simd},                 {"gpus", gpus_to_json(m.gpus)}, {"gpu_driver", m.gpu_driver}};
}

MachineInfo machine_from_json(const json& j) {
  MachineInfo m;
  m.hostname = j.value("hostname", "");
  m.cpu_model = j.at("cpu_model").get<std::string>();
  m.cpu_cores = j.at("cpu_cores").get<int>();
  m.cpu_threads = j.at("cpu_threads").get<int>();
  m.memory_bytes = j.at("memory_bytes").get<std::uint64_t>();
  m.simd = j.value("simd", "");
  m.gpus = gpus_from_json(j.value("gpus", json::array()));
  m.gpu_driver = j.value("gpu_driver", "");
  return m;
}

std::string gpu_summary(const std::vector<GpuInfo>& gpus) {
  if (gpus.empty()) return "-";
  return std::to_string(gpus.size()) + "x " + gpus.front().name;
}

std::int64_t find_or_insert_machine(Transaction& tx, const MachineInfo& m) {
  auto fp = m.fingerprint();
  auto find = tx.prepare("SELECT id FROM machines WHERE fingerprint = ?");
  find.bind_all(fp);
  if (find.step()) return find.get_int(0);
  auto ins = tx.prepare("INSERT INTO machines (fingerprint, info) VALUES (?, ?)");
  ins.bind_all(fp, machine_to_json(m).dump());
  ins.run();
  return tx.last_insert_rowid();
}

std::vector<std::int64_t> profile_ids(Store& store) {
  std::vector<std::int64_t> ids;
  auto st = store.prepare("SELECT id FROM profiles ORDER BY id");
  while (st.step()) ids.push_back(st.get_int(0));
  return ids;
}

}  // namespace

const char* profile_tables_sql() {
  return "CREATE TABLE machines (id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE, info TEXT NOT NULL);"
         "CREATE TABLE profiles (id INTEGER PRIMARY KEY, machine_id INTEGER NOT NULL REFERENCES machines(id),"
         " created_at TEXT NOT NULL, ds_version TEXT NOT NULL, quick INTEGER NOT NULL DEFAULT 0,"
         " imported_from TEXT NOT NULL DEFAULT '', skipped TEXT NOT NULL DEFAULT '[]');"
         "CREATE TABLE measurements (id INTEGER PRIMARY KEY,"
         " profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
         " probe TEXT NOT NULL, params TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,"
         " spread REAL NOT NULL, runs INTEGER NOT NULL);"
         "CREATE INDEX measurements_by_profile ON measurements(profile_id, probe);";
}

const Measurement* Profile::find(const std::string& probe, const json& match) const {
  for (const auto& m : measurements) {
    if (m.probe != probe) continue;
    bool ok = true;
    for (const auto& [k, v] : match.items()) ok = ok && m.params.contains(k) && m.params.at(k) == v;
    if (ok) return &m;
  }
  return nullptr;
}

std::int64_t save_profile(Store& store, const Profile& p) {
  return store.transaction([&](Transaction& tx) {
    std::int64_t machine = find_or_insert_machine(tx, p.machine);
    json skipped = json::array();
    for (const auto& s : p.skipped) skipped.push_back({{"probe", s.probe}, {"reason", s.reason}});
    auto ins = tx.prepare(
        "INSERT INTO profiles (machine_id, created_at, ds_version, quick, imported_from, skipped) VALUES "
        "(?, COALESCE(NULLIF(?, ''), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), ?, ?, ?, ?)");
    ins.bind_all(machine, p.created_at, p.ds_version.empty() ? build_info().version + " (" + build_info().git_commit + ")" : p.ds_version,
                 p.quick ? 1 : 0, p.imported_from, skipped.dump());
    ins.run();
    std::int64_t id = tx.last_insert_rowid();
    auto m = tx.prepare("INSERT INTO measurements (profile_id, probe, params, value, unit, spread, runs) VALUES (?,?,?,?,?,?,?)");
    for (const auto& x : p.measurements) {
      m.bind_all(id, x.probe, x.params.dump(), x.value, x.unit, x.spread, x.runs);
      m.run();
      m.reset();
    }
    return id;
  });
}

Profile load_profile(Store& store, const std::string& which, const std::string& fingerprint) {
  std::string sql =
      "SELECT p.id, p.created_at, p.ds_version, p.quick, p.imported_from, p.skipped, m.info FROM profiles p "
      "JOIN machines m ON m.id = p.machine_id ";
  bool latest = which == "latest";
  if (!latest) {
    char* end = nullptr;
    long long id = std::strtoll(which.c_str(), &end, 10);
    if (which.empty() || *end != '\0' || id <= 0) {
      throw UsageError(format_error("profile", "not a profile id", "'" + which + "'", "a number from `ds profile list` or 'latest'"));
    }
    sql += "WHERE p.id = " + std::to_string(id);
  } else if (!fingerprint.empty()) {
    sql += "WHERE m.fingerprint = ? ORDER BY p.id DESC LIMIT 1";
  } else {
    sql += "ORDER BY p.id DESC LIMIT 1";
  }
  auto st = store.prepare(sql);
  if (latest && !fingerprint.empty()) st.bind_all(fingerprint);
  if (!st.step()) {
    auto ids = profile_ids(store);
    std::string have = ids.empty() ? "none stored yet" : std::to_string(ids.size()) + " stored (ids " +
                                                              std::to_string(ids.front()) + ".." + std::to_string(ids.back()) + ")";
    throw UsageError(format_error(store.path().string(), "no profile '" + which + "'" + (fingerprint.empty() ? "" : " for this machine"),
                                  have, "", "run `ds profile` (or `ds profile --quick`) to measure this machine"));
  }
  Profile p;
  p.id = st.get_int(0);
  p.created_at = st.get_text(1);
  p.ds_version = st.get_text(2);
  p.quick = st.get_int(3) != 0;
  p.imported_from = st.get_text(4);
  for (const auto& s : json::parse(st.get_text(5))) p.skipped.push_back({s.at("probe"), s.at("reason")});
  p.machine = machine_from_json(json::parse(st.get_text(6)));
  auto ms = store.prepare("SELECT probe, params, value, unit, spread, runs FROM measurements WHERE profile_id = ? ORDER BY id");
  ms.bind_all(p.id);
  while (ms.step()) {
    p.measurements.push_back({ms.get_text(0), json::parse(ms.get_text(1)), ms.get_double(2), ms.get_text(3),
                              ms.get_double(4), static_cast<int>(ms.get_int(5))});
  }
  return p;
}

std::vector<ProfileSummary> list_profiles(Store& store) {
  std::vector<ProfileSummary> out;
  auto st = store.prepare(
      "SELECT p.id, p.created_at, m.fingerprint, m.info, p.quick, p.imported_from,"
      " (SELECT COUNT(*) FROM measurements x WHERE x.profile_id = p.id) FROM profiles p"
      " JOIN machines m ON m.id = p.machine_id ORDER BY p.id");
  while (st.step()) {
    MachineInfo m = machine_from_json(json::parse(st.get_text(3)));
    out.push_back({st.get_int(0), st.get_text(1), st.get_text(2), m.cpu_model, gpu_summary(m.gpus),
                   static_cast<int>(st.get_int(6)), st.get_int(4) != 0, st.get_text(5)});
  }
  return out;
}

json profile_to_json(const Profile& p) {
  json ms = json::array(), sk = json::array();
  for (const auto& m : p.measurements) ms.push_back(to_json(m));
  for (const auto& s : p.skipped) sk.push_back({{"probe", s.probe}, {"reason", s.reason}});
  return {{"format", "ds-profile"}, {"version", 1},       {"id", p.id},     {"created_at", p.created_at},
          {"ds_version", p.ds_version}, {"quick", p.quick}, {"machine", machine_to_json(p.machine)},
          {"measurements", ms},           {"skipped", sk}};
}

Profile profile_from_json(const json& j, const std::string& source) {
  if (!j.is_object() || j.value("format", "") != "ds-profile") {
    throw ConfigError(format_error(source, "not a ds profile export", "", "a JSON object with \"format\": \"ds-profile\"",
                                   "create one with `ds --json profile export ID > file.json`"));
  }
  Profile p;
  try {
    p.created_at = j.value("created_at", "");
    p.ds_version = j.value("ds_version", "");
    p.quick = j.value("quick", false);
    p.machine = machine_from_json(j.at("machine"));
    for (const auto& m : j.at("measurements")) p.measurements.push_back(measurement_from_json(m));
    for (const auto& s : j.value("skipped", json::array())) p.skipped.push_back({s.at("probe"), s.at("reason")});
  } catch (const json::exception& e) {
    throw ConfigError(format_error(source, "malformed profile export", e.what(), "the fields `ds profile export` writes"));
  }
  p.imported_from = source;
  return p;
}

}  // namespace ds::profiles
