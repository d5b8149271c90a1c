#pragma once
#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ds::engine {

/// How a row of `ds env` judges what it found.
enum class EnvStatus {
  kOk,       ///< present and as it should be
  kWarn,     ///< present but slow or broken; the note says how to fix it
  kMissing,  ///< not available here (no GPU, no io_uring); fine unless you need it
};
const char* to_string(EnvStatus status);

/// One finding, e.g. {"library", "/usr/lib/.../openblas-pthread/libblas.so.3", kOk, "OpenBLAS 0.3.21"}.
struct EnvRow {
  std::string name;   ///< short, lowercase, e.g. "schema version"; its JSON key is this with '_' for ' '
  std::string value;
  EnvStatus status = EnvStatus::kOk;
  std::string note;   ///< for kWarn: what is wrong and the command that fixes it
};

/// A group of rows, e.g. "blas".
struct EnvSection {
  std::string key;    ///< JSON key: "ds", "libtorch", "cuda", "communication", "blas", "cpu", "io", "database"
  std::string title;  ///< heading for humans, e.g. "BLAS"
  std::vector<EnvRow> rows;
};

/// Everything `ds env` reports, in display order.
struct EnvReport {
  std::vector<EnvSection> sections;
  std::string torch_build_config;  ///< at::show_config() verbatim (too long for the table)

  /// The row, or nullptr. `section` is the key ("blas"), `row` the name ("library").
  const EnvRow* find(std::string_view section, std::string_view row) const;
  /// "section title: row name: note" for every kWarn row.
  std::vector<std::string> warnings() const;
};

/// What `ds env` was asked.
struct EnvOptions {
  std::string db_path;  ///< the global --db; empty: $DS_HOME/ds.db or ~/.cache/ds/ds.db
};

/// Probes this process and machine: ds build, LibTorch, CUDA/driver, NCCL/Gloo, the BLAS
/// actually loaded, CPU and SIMD, memory, io_uring, SQLite and the database. Never throws for a
/// missing piece: it becomes a kMissing or kWarn row.
EnvReport env_report(const EnvOptions& options);

/// {"sections": {"blas": {"library": {"value", "status", "note"}, ...}, ...},
///  "warnings": [...], "torch_build_config": "..."}
nlohmann::json to_json(const EnvReport& report);

// ---- Pure pieces, public so that tests can feed them sample text ----

/// Which BLAS implementation a shared library file is.
enum class BlasKind { kNone, kReference, kOpenBlas, kMkl, kBlis, kAtlas, kFlexiBlas };
const char* to_string(BlasKind kind);

/// Classifies by file path, e.g. ".../openblas-pthread/libblas.so.3" → kOpenBlas,
/// ".../blas/libblas.so.3" (Debian's netlib package) → kReference, "libfoo.so" → kNone.
BlasKind classify_blas_library(std::string_view path);

/// The distinct file paths mapped into a process, in order, from /proc/<pid>/maps text.
std::vector<std::string> mapped_files(std::string_view proc_maps);

/// The BLAS a process uses. `sgemm_provider` is the library that the dynamic linker binds
/// sgemm_ to (dladdr), which decides when known; otherwise the first optimized BLAS mapped,
/// else the reference one.
struct BlasDetection {
  BlasKind kind = BlasKind::kNone;
  std::string library;  ///< the deciding file; empty when none is loaded
};
BlasDetection detect_blas(const std::vector<std::string>& mapped, const std::string& sgemm_provider);

/// "2.3" from ".../liburing.so.2.3": the version in a mapped library's file name ("" if none).
std::string library_file_version(const std::vector<std::string>& mapped, std::string_view stem);

/// /proc/cpuinfo: the first "model name" ("" when absent) and the number of distinct
/// (physical id, core id) pairs (0 when the file does not list them).
std::string cpu_model_name(std::string_view cpuinfo);
int physical_core_count(std::string_view cpuinfo);

/// /proc/meminfo: the value of `key` (e.g. "MemTotal") in bytes; -1 when absent.
double meminfo_bytes(std::string_view meminfo, std::string_view key);

}  // namespace ds::engine
