// ds profile: measure this machine once, store it, show / list / export / import profiles.
// Both executables link this file: the store verbs run in the light `ds`; measuring and the rank
// worker go through measure_this_machine / run_collectives_worker (cli/cli_context.hpp).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/cli_context.hpp"
#include "common/atomic_file.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "profiles/probes/collective_probe.hpp"  // option structs only: no LibTorch in these headers
#include "profiles/probes/probes.hpp"
#include "profiles/profile_store.hpp"
#include "profiles/store.hpp"

namespace ds::cli {
namespace {

std::string format_value(const profiles::Measurement& m) {
  char buf[64];
  if (m.unit == "bytes") return format_bytes(m.value);
  std::snprintf(buf, sizeof buf, m.value >= 1e5 ? "%.3g %s" : "%.2f %s", m.value, m.unit.c_str());
  return buf;
}

std::string format_params(const nlohmann::json& params) {
  std::string out;
  for (const auto& [k, v] : params.items()) {
    if (!out.empty()) out += " ";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

void print_profile(const profiles::Profile& p, bool json) {
  if (json) {
    std::cout << profiles::profile_to_json(p).dump(2) << "\n";
    return;
  }
  std::printf("profile %lld  %s  %s%s\n", static_cast<long long>(p.id), p.created_at.c_str(), p.ds_version.c_str(),
              p.quick ? "  (quick)" : "");
  std::printf("machine %s: %s, %d cores / %d threads, %s RAM, SIMD %s%s\n", p.machine.fingerprint().c_str(),
              p.machine.cpu_model.c_str(), p.machine.cpu_cores, p.machine.cpu_threads,
              format_bytes(static_cast<double>(p.machine.memory_bytes)).c_str(), p.machine.simd.c_str(),
              p.imported_from.empty() ? "" : ("  imported from " + p.imported_from).c_str());
  Table t({"probe", "value", "±", "runs", "parameters"},
          {Table::Align::kLeft, Table::Align::kRight, Table::Align::kRight, Table::Align::kRight, Table::Align::kLeft});
  for (const auto& m : p.measurements) {
    char spread[32];
    std::snprintf(spread, sizeof spread, "%.1f%%", m.spread * 100);
    t.add_row({m.probe, format_value(m), spread, std::to_string(m.runs), format_params(m.params)});
  }
  std::cout << t.render();
  for (const auto& s : p.skipped) std::printf("skipped %s: %s\n", s.probe.c_str(), s.reason.c_str());
}

void print_list(profiles::Store& store, bool json) {
  auto rows = profiles::list_profiles(store);
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      out.push_back({{"id", r.id}, {"created_at", r.created_at}, {"fingerprint", r.fingerprint}, {"cpu", r.cpu_model},
                     {"gpus", r.gpus}, {"measurements", r.measurements}, {"quick", r.quick}, {"imported_from", r.imported_from}});
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  Table t({"id", "created", "machine", "cpu", "gpus", "rows", "kind"});
  for (const auto& r : rows) {
    std::string kind = r.imported_from.empty() ? (r.quick ? "quick" : "full") : "imported";
    t.add_row({std::to_string(r.id), r.created_at, r.fingerprint, r.cpu_model, r.gpus, std::to_string(r.measurements), kind});
  }
  std::cout << (rows.empty() ? "no profiles stored yet; run `ds profile --quick`\n" : t.render());
}

}  // namespace

void register_profile(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("profile", "Measure this machine (CPU, GPU, collectives, disk) and store the profile");
  auto options = std::make_shared<profiles::ProbeOptions>();
  cmd->add_flag("--quick", options->quick, "Small sizes and few repeats (under 30 s on 2 cores)");
  cmd->add_option("--storage-dir", options->storage_dir, "Directory for the O_DIRECT storage probe (the NVMe offload path)");
  cmd->add_option("--ranks", options->collective_ranks, "Local ranks for the collective probes (0: skip)");
  cmd->callback([cmd, options, &global] {
    if (!cmd->get_subcommands().empty()) return;
    options->progress = !global.json && !global.quiet;
    profiles::Profile p = measure_this_machine(*options, global);
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    p.id = profiles::save_profile(store, p);
    print_profile(profiles::load_profile(store, std::to_string(p.id)), global.json);
    if (!global.json) std::printf("stored as profile %lld in %s\n", static_cast<long long>(p.id), store.path().c_str());
  });

  // One rank of the collective probe; started by `ds profile` itself through the launcher.
  auto worker = std::make_shared<profiles::CollectiveBenchOptions>();
  auto* w = cmd->add_subcommand("collectives-worker", "");
  w->group("");  // an empty group hides it from --help (an empty description alone does not)
  w->add_flag("--quick", worker->quick);
  w->add_option("--out", worker->out_file)->required();
  w->callback([worker, &global] { run_collectives_worker(*worker, global); });

  auto which = std::make_shared<std::string>("latest");
  auto* show = cmd->add_subcommand("show", "Print a stored profile");
  show->add_option("id", *which, "Profile id or 'latest'");
  show->callback([which, &global] {
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    print_profile(profiles::load_profile(store, *which), global.json);
  });

  cmd->add_subcommand("list", "List stored profiles")->callback([&global] {
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    print_list(store, global.json);
  });

  auto out = std::make_shared<std::string>();
  auto* exp = cmd->add_subcommand("export", "Write a profile as JSON (to carry it to another machine)");
  exp->add_option("id", *which, "Profile id or 'latest'");
  exp->add_option("-o,--out", *out, "File to write (default: stdout)");
  exp->callback([which, out, &global] {
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    std::string text = profiles::profile_to_json(profiles::load_profile(store, *which)).dump(2) + "\n";
    if (out->empty()) std::cout << text;
    else write_file_atomic(*out, text);
  });

  auto file = std::make_shared<std::string>();
  auto* imp = cmd->add_subcommand("import", "Store a profile exported elsewhere");
  imp->add_option("file", *file, "JSON written by `ds profile export`")->required();
  imp->callback([file, &global] {
    std::string text = read_file(*file);
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) throw ConfigError(format_error(*file, "not valid JSON", "", "a file written by `ds profile export`"));
    profiles::Store store(profiles::resolve_db_path(global.db_path));
    auto id = profiles::save_profile(store, profiles::profile_from_json(j, *file));
    if (global.json) std::cout << nlohmann::json{{"id", id}}.dump() << "\n";
    else std::printf("imported %s as profile %lld\n", file->c_str(), static_cast<long long>(id));
  });
}

}  // namespace ds::cli
