#include "profiles/trials.hpp"

#include <cmath>
#include <initializer_list>

#include "common/error.hpp"
#include "profiles/store.hpp"

namespace ds::profiles {
namespace {

using nlohmann::json;

const std::initializer_list<const char*> kSources = {"train", "tune", "bench"};
const std::initializer_list<const char*> kStatuses = {"ok", "failed", "oom", "stopped"};

// The columns record_trial writes, in table order (id and created_at are handled apart).
constexpr const char* kColumns[] = {
    "source", "status", "model", "model_json", "plan_json", "config_hash", "machine_fingerprint", "profile_id",
    "device", "world_size", "micro_batch", "grad_accum", "seq_len", "steps", "predicted_step_time_s",
    "measured_step_time_s", "predicted_peak_bytes", "measured_peak_bytes", "tokens_per_s", "mfu", "final_loss",
    "run_dir", "extra_json"};

void check_choice(const std::string& field, const std::string& value, std::initializer_list<const char*> choices) {
  std::string listed;
  for (const char* c : choices) {
    if (value == c) return;
    listed += (listed.empty() ? "" : ", ") + std::string(c);
  }
  throw UsageError(format_error("trial." + field, "unknown " + field, "'" + value + "'", "one of " + listed));
}

void check_at_least(const std::string& field, std::int64_t value, std::int64_t least) {
  if (value >= least) return;
  throw UsageError(format_error("trial." + field, "out of range", std::to_string(value),
                                "an integer >= " + std::to_string(least)));
}

template <typename T>
void check_measure(const std::string& field, const std::optional<T>& value) {
  if (!value || (std::isfinite(static_cast<double>(*value)) && *value >= 0)) return;
  std::string got = std::isfinite(static_cast<double>(*value)) ? json(*value).dump() : std::to_string(*value);
  throw UsageError(format_error("trial." + field, "not a measurement", got, "a finite number >= 0, or empty when unknown"));
}

void check_object(const std::string& field, const json& value, bool null_allowed) {
  if (value.is_object() || (null_allowed && value.is_null())) return;
  throw UsageError(format_error("trial." + field, "not a JSON object", std::string(value.type_name()),
                                null_allowed ? "an object, or null when unknown" : "an object"));
}

void validate(const Trial& t) {
  check_choice("source", t.source, kSources);
  check_choice("status", t.status, kStatuses);
  check_object("model_json", t.model_json, true);
  check_object("plan_json", t.plan_json, true);
  check_object("extra_json", t.extra_json, false);
  check_at_least("world_size", t.world_size, 1);
  check_at_least("micro_batch", t.micro_batch, 1);
  check_at_least("grad_accum", t.grad_accum, 1);
  check_at_least("seq_len", t.seq_len, 0);
  check_at_least("steps", t.steps, 0);
  check_measure("predicted_step_time_s", t.predicted_step_time_s);
  check_measure("measured_step_time_s", t.measured_step_time_s);
  check_measure("predicted_peak_bytes", t.predicted_peak_bytes);
  check_measure("measured_peak_bytes", t.measured_peak_bytes);
  check_measure("tokens_per_s", t.tokens_per_s);
  check_measure("mfu", t.mfu);
  if (t.profile_id) check_at_least("profile_id", *t.profile_id, 1);
}

// JSON text for a column; invalid UTF-8 is replaced rather than failing the whole record.
std::optional<std::string> json_text(const json& value) {
  if (value.is_null()) return std::nullopt;
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void require_profile(Transaction& tx, std::int64_t id) {
  auto st = tx.prepare("SELECT 1 FROM profiles WHERE id = ?");
  st.bind_all(id);
  if (st.step()) return;
  throw UsageError(format_error("trial.profile_id", "no such profile", std::to_string(id), "",
                                "use an id from `ds profile list`, or leave it empty"));
}

std::string insert_sql() {
  std::string names = "created_at", values = "COALESCE(NULLIF(:created_at, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";
  for (const char* c : kColumns) {
    names += std::string(", ") + c;
    values += std::string(", :") + c;
  }
  return "INSERT INTO trials (" + names + ") VALUES (" + values + ")";
}

void bind_trial(Statement& st, const Trial& t) {
  st.bind(":created_at", t.created_at).bind(":source", t.source).bind(":status", t.status).bind(":model", t.model);
  st.bind(":model_json", json_text(t.model_json)).bind(":plan_json", json_text(t.plan_json));
  st.bind(":config_hash", t.config_hash).bind(":machine_fingerprint", t.machine_fingerprint);
  st.bind(":profile_id", t.profile_id).bind(":device", t.device).bind(":world_size", t.world_size);
  st.bind(":micro_batch", t.micro_batch).bind(":grad_accum", t.grad_accum).bind(":seq_len", t.seq_len);
  st.bind(":steps", t.steps).bind(":predicted_step_time_s", t.predicted_step_time_s);
  st.bind(":measured_step_time_s", t.measured_step_time_s).bind(":predicted_peak_bytes", t.predicted_peak_bytes);
  st.bind(":measured_peak_bytes", t.measured_peak_bytes).bind(":tokens_per_s", t.tokens_per_s).bind(":mfu", t.mfu);
  // SQLite binds NaN as NULL anyway; saying so here keeps the round trip explicit.
  const bool loss_known = t.final_loss && !std::isnan(*t.final_loss);
  st.bind(":final_loss", loss_known ? t.final_loss : std::nullopt);
  st.bind(":run_dir", t.run_dir).bind(":extra_json", *json_text(t.extra_json));
}

std::optional<double> optional_double(const Statement& st, const char* column) {
  if (st.is_null(column)) return std::nullopt;
  return st.get_double(column);
}

std::optional<std::int64_t> optional_int(const Statement& st, const char* column) {
  if (st.is_null(column)) return std::nullopt;
  return st.get_int(column);
}

json optional_json(const Statement& st, const char* column) {
  return st.is_null(column) ? json() : json::parse(st.get_text(column));
}

Trial read_trial(const Statement& st) {
  Trial t;
  t.id = st.get_int("id");
  t.created_at = st.get_text("created_at");
  t.source = st.get_text("source");
  t.status = st.get_text("status");
  t.model = st.get_text("model");
  t.model_json = optional_json(st, "model_json");
  t.plan_json = optional_json(st, "plan_json");
  t.config_hash = st.get_text("config_hash");
  t.machine_fingerprint = st.get_text("machine_fingerprint");
  t.profile_id = optional_int(st, "profile_id");
  t.device = st.get_text("device");
  t.world_size = static_cast<int>(st.get_int("world_size"));
  t.micro_batch = st.get_int("micro_batch");
  t.grad_accum = st.get_int("grad_accum");
  t.seq_len = st.get_int("seq_len");
  t.steps = st.get_int("steps");
  t.predicted_step_time_s = optional_double(st, "predicted_step_time_s");
  t.measured_step_time_s = optional_double(st, "measured_step_time_s");
  t.predicted_peak_bytes = optional_int(st, "predicted_peak_bytes");
  t.measured_peak_bytes = optional_int(st, "measured_peak_bytes");
  t.tokens_per_s = optional_double(st, "tokens_per_s");
  t.mfu = optional_double(st, "mfu");
  t.final_loss = optional_double(st, "final_loss");
  t.run_dir = st.get_text("run_dir");
  t.extra_json = json::parse(st.get_text("extra_json"));
  return t;
}

}  // namespace

const char* trial_tables_sql() {
  // profile_id SET NULL: deleting a profile keeps the measured runs that used it. source and
  // status are checked by record_trial, not by CHECK constraints: SQLite cannot alter a CHECK,
  // so a new source would otherwise need a table rebuild in every database in the field.
  return "CREATE TABLE trials (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL,"
         " source TEXT NOT NULL, status TEXT NOT NULL,"
         " model TEXT NOT NULL DEFAULT '', model_json TEXT, plan_json TEXT, config_hash TEXT NOT NULL DEFAULT '',"
         " machine_fingerprint TEXT NOT NULL DEFAULT '',"
         " profile_id INTEGER REFERENCES profiles(id) ON DELETE SET NULL, device TEXT NOT NULL DEFAULT 'cpu',"
         " world_size INTEGER NOT NULL DEFAULT 1, micro_batch INTEGER NOT NULL DEFAULT 1,"
         " grad_accum INTEGER NOT NULL DEFAULT 1, seq_len INTEGER NOT NULL DEFAULT 0, steps INTEGER NOT NULL DEFAULT 0,"
         " predicted_step_time_s REAL, measured_step_time_s REAL, predicted_peak_bytes INTEGER,"
         " measured_peak_bytes INTEGER, tokens_per_s REAL, mfu REAL, final_loss REAL,"
         " run_dir TEXT NOT NULL DEFAULT '', extra_json TEXT NOT NULL DEFAULT '{}');"
         "CREATE INDEX trials_by_machine ON trials(machine_fingerprint, created_at);"
         "CREATE INDEX trials_by_config ON trials(config_hash);";
}

std::int64_t record_trial(Store& store, const Trial& trial) {
  validate(trial);
  return store.transaction([&](Transaction& tx) {
    if (trial.profile_id) require_profile(tx, *trial.profile_id);
    auto st = tx.prepare(insert_sql());
    bind_trial(st, trial);
    st.run();
    return tx.last_insert_rowid();
  });
}

std::vector<Trial> list_trials(Store& store, const TrialQuery& query) {
  if (!query.source.empty()) check_choice("source", query.source, kSources);
  if (query.limit < 0) {
    throw UsageError(format_error("trial query limit", "out of range", std::to_string(query.limit), "0 (all) or more"));
  }
  std::string sql = "SELECT * FROM trials WHERE 1";
  if (!query.machine_fingerprint.empty()) sql += " AND machine_fingerprint = :machine";
  if (!query.config_hash.empty()) sql += " AND config_hash = :hash";
  if (!query.source.empty()) sql += " AND source = :source";
  sql += " ORDER BY created_at DESC, id DESC";
  if (query.limit > 0) sql += " LIMIT " + std::to_string(query.limit);
  auto st = store.prepare(sql);
  if (!query.machine_fingerprint.empty()) st.bind(":machine", query.machine_fingerprint);
  if (!query.config_hash.empty()) st.bind(":hash", query.config_hash);
  if (!query.source.empty()) st.bind(":source", query.source);
  std::vector<Trial> out;
  while (st.step()) out.push_back(read_trial(st));
  return out;
}

std::optional<Trial> find_trial(Store& store, std::int64_t id) {
  auto st = store.prepare("SELECT * FROM trials WHERE id = ?");
  st.bind_all(id);
  if (!st.step()) return std::nullopt;
  return read_trial(st);
}

json to_json(const Trial& t) {
  auto opt = [](const auto& v) { return v ? json(*v) : json(); };
  return {{"id", t.id},
          {"created_at", t.created_at},
          {"source", t.source},
          {"status", t.status},
          {"model", t.model},
          {"model_json", t.model_json},
          {"plan_json", t.plan_json},
          {"config_hash", t.config_hash},
          {"machine_fingerprint", t.machine_fingerprint},
          {"profile_id", opt(t.profile_id)},
          {"device", t.device},
          {"world_size", t.world_size},
          {"micro_batch", t.micro_batch},
          {"grad_accum", t.grad_accum},
          {"seq_len", t.seq_len},
          {"steps", t.steps},
          {"predicted_step_time_s", opt(t.predicted_step_time_s)},
          {"measured_step_time_s", opt(t.measured_step_time_s)},
          {"predicted_peak_bytes", opt(t.predicted_peak_bytes)},
          {"measured_peak_bytes", opt(t.measured_peak_bytes)},
          {"tokens_per_s", opt(t.tokens_per_s)},
          {"mfu", opt(t.mfu)},
          {"final_loss", opt(t.final_loss)},
          {"run_dir", t.run_dir},
          {"extra_json", t.extra_json}};
}

}  // namespace ds::profiles
