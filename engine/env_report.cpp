// `ds env`: what this binary, its LibTorch and this machine can do, each finding judged.
#include "engine/env_report.hpp"

#include <dlfcn.h>
#include <sched.h>
#ifdef DS_HAVE_URING
#include <liburing.h>
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/build_info.hpp"
#include "common/units.hpp"
#include "engine/torch_info.hpp"
#include "kernels/cpu/cpu_isa.hpp"
#include "profiles/store.hpp"

namespace ds::engine {
namespace fs = std::filesystem;
namespace {

// Debian's switch for which libblas.so.3 every program loads (update-alternatives(1)).
constexpr const char* kBlasAlternative = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu";
// Measured on the 2-core CI machine, 1024³ fp32 matmul through LibTorch (issue 3).
constexpr const char* kReferenceBlasFix =
    "reference BLAS makes LibTorch's fp32 GEMM ~30x slower (about 5 vs 160 GFLOP/s on 2 cores); "
    "fix: sudo apt-get install libopenblas0-pthread, or sudo update-alternatives --config "
    "libblas.so.3-x86_64-linux-gnu and pick openblas-pthread";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

EnvRow row(std::string name, std::string value, EnvStatus status = EnvStatus::kOk, std::string note = {}) {
  return {std::move(name), std::move(value), status, std::move(note)};
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

EnvSection ds_section() {
  const auto& b = build_info();
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  const bool optimized = b.build_type == "Release" || b.build_type == "RelWithDebInfo";
  return {"ds", "ds",
          {row("version", b.version), row("git commit", b.git_commit), row("compiler", b.compiler),
           row("build type", b.build_type, optimized ? EnvStatus::kOk : EnvStatus::kWarn,
               optimized ? "" : "an unoptimized build: timings mean little; rebuild with BUILD_TYPE=Release"),
           row("binary", ec ? "unknown" : exe.string())}};
}

EnvSection torch_section(const TorchInfo& t, int usable_cores) {
  const char* omp = std::getenv("OMP_NUM_THREADS");
  std::string thread_note = omp ? std::string("OMP_NUM_THREADS=") + omp : "";
  if (t.intraop_threads < usable_cores) {
    const std::string cores = std::to_string(usable_cores);
    thread_note += (thread_note.empty() ? "" : "; ") + std::string("fewer than the ") + cores +
                   " usable cores; OMP_NUM_THREADS=" + cores + " uses them all";
  }
  const std::string blas = torch_build_setting(t.build_config, "BLAS_INFO");
  const std::string lapack = torch_build_setting(t.build_config, "LAPACK_INFO");
  return {"libtorch", "LibTorch",
          {row("version", t.version),
           row("cpu capability", t.cpu_capability.empty() ? "unknown" : t.cpu_capability, EnvStatus::kOk,
               "vector ISA of LibTorch's own CPU kernels (ATEN_CPU_CAPABILITY lowers it)"),
           row("blas build setting", "BLAS_INFO=" + blas + ", LAPACK_INFO=" + lapack, EnvStatus::kOk,
               blas == "generic" ? "uses whatever libblas.so.3 is loaded: see BLAS below" : ""),
           row("parallel backend", t.parallel_backend.empty() ? "unknown" : t.parallel_backend),
           row("intra-op threads", std::to_string(t.intraop_threads), EnvStatus::kOk, thread_note),
           row("inter-op threads", std::to_string(t.interop_threads))}};
}

EnvSection cuda_section(const TorchInfo& t, const DriverGpus& gpus) {
  EnvSection s{"cuda", "CUDA", {}};
  s.rows.push_back(row("libtorch built with cuda", t.cuda_compiled ? "yes, CUDA " + t.cuda_version : "no",
                       t.cuda_compiled ? EnvStatus::kOk : EnvStatus::kMissing,
                       t.cuda_compiled ? "" : "a CPU-only LibTorch: GPU code paths are off"));
  const bool unusable_gpus = !t.cuda_available && !gpus.devices.empty();
  s.rows.push_back(row("cuda available", yes_no(t.cuda_available) + ", " + std::to_string(t.cuda_device_count) +
                                             " device(s)",
                       t.cuda_available ? EnvStatus::kOk : (unusable_gpus ? EnvStatus::kWarn : EnvStatus::kMissing),
                       unusable_gpus ? "the driver sees GPUs that this LibTorch cannot use; install a CUDA build "
                                       "of LibTorch (or check CUDA_VISIBLE_DEVICES)"
                                     : ""));
  if (t.cuda_compiled) {
    s.rows.push_back(row("cudnn", t.cudnn_version.empty() ? "no" : t.cudnn_version,
                         t.cudnn_version.empty() ? EnvStatus::kMissing : EnvStatus::kOk));
  }
  s.rows.push_back(row("nvidia driver", gpus.driver_loaded ? gpus.driver_version : "no",
                       gpus.driver_loaded ? EnvStatus::kOk : EnvStatus::kMissing, gpus.error));
  for (const auto& d : gpus.devices) {
    s.rows.push_back(row("gpu " + std::to_string(d.index), d.name + ", " + format_bytes(d.memory_bytes),
                         t.cuda_available ? EnvStatus::kOk : EnvStatus::kWarn,
                         t.cuda_available ? "" : "not usable by this LibTorch"));
  }
  return s;
}

// A process group is usable when the loaded LibTorch has it and this ds was compiled with it.
struct BackendNotes {
  const char* usable;
  const char* not_in_torch;
  const char* not_in_ds;
};

EnvRow backend_row(const std::string& name, bool in_torch, bool in_ds, const std::string& version, EnvStatus missing,
                   const BackendNotes& notes) {
  const bool usable = in_torch && in_ds;
  return row(name, usable ? "yes" + (version.empty() ? "" : ", " + version) : "no",
             usable ? EnvStatus::kOk : missing,
             usable ? notes.usable : in_torch ? notes.not_in_ds : notes.not_in_torch);
}

EnvSection communication_section(const TorchInfo& t) {
  return {"communication", "Communication",
          {backend_row("gloo", t.gloo_available, t.ds_gloo, "", EnvStatus::kWarn,
                       {"CPU collectives for multi-process runs",
                        "LibTorch without Gloo: multi-process CPU training is unavailable",
                        "ds was built without gloo's headers (a pip LibTorch does not ship them): multi-process CPU "
                        "training is unavailable; hint: install gloo's headers (libgloo-dev) and rebuild"}),
           backend_row("nccl", t.nccl_available, t.ds_nccl, t.nccl_version, EnvStatus::kMissing,
                       {"GPU collectives", "needs a CUDA build of LibTorch",
                        "ds was built without nccl.h: multi-GPU training is unavailable; hint: add the include "
                        "folder of NCCL (the nvidia-nccl pip package or the CUDA toolkit's) to CPATH and rebuild"})}};
}

// The shared object that the dynamic linker binds sgemm_ to, i.e. the BLAS LibTorch calls.
std::string sgemm_provider() {
  void* symbol = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (symbol == nullptr || dladdr(symbol, &info) == 0 || info.dli_fname == nullptr) return "";
  std::error_code ec;
  const auto real = fs::canonical(info.dli_fname, ec);
  return ec ? std::string(info.dli_fname) : real.string();
}

// Version and threads straight from the loaded library, where it exports them.
std::string blas_details(BlasKind kind) {
  if (kind == BlasKind::kOpenBlas) {
    using Config = const char* (*)();
    using Threads = int (*)();
    auto config = reinterpret_cast<Config>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    auto threads = reinterpret_cast<Threads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    std::string out = config ? config() : "";
    if (threads) out += (out.empty() ? "" : ", ") + std::to_string(threads()) + " threads";
    return out;
  }
  if (kind == BlasKind::kMkl) {
    using Version = void (*)(char*, int);
    auto version = reinterpret_cast<Version>(dlsym(RTLD_DEFAULT, "mkl_get_version_string"));
    char text[256] = {};
    if (version) version(text, sizeof text);
    return text;
  }
  return "";
}

EnvSection blas_section(const TorchInfo& t) {
  EnvSection s{"blas", "BLAS", {}};
  const auto mapped = mapped_files(read_text("/proc/self/maps"));
  const auto found = detect_blas(mapped, sgemm_provider());
  const std::string blas_info = torch_build_setting(t.build_config, "BLAS_INFO");
  if (found.kind == BlasKind::kReference) {
    s.rows.push_back(row("in use", to_string(found.kind), EnvStatus::kWarn, kReferenceBlasFix));
  } else if (found.kind != BlasKind::kNone) {
    s.rows.push_back(row("in use", to_string(found.kind), EnvStatus::kOk, blas_details(found.kind)));
  } else if (!blas_info.empty() && blas_info != "generic") {
    s.rows.push_back(row("in use", blas_info + " (inside LibTorch)", EnvStatus::kOk));
  } else {
    s.rows.push_back(row("in use", "none loaded", EnvStatus::kMissing, "LibTorch falls back to its own GEMM"));
  }
  if (!found.library.empty()) s.rows.push_back(row("library", found.library));
  std::error_code ec;
  const auto alternative = fs::read_symlink(kBlasAlternative, ec);
  if (!ec) {
    const auto kind = classify_blas_library(alternative.string());
    const bool reference = kind == BlasKind::kReference;
    s.rows.push_back(row("debian alternative", alternative.string(), reference ? EnvStatus::kWarn : EnvStatus::kOk,
                         reference ? std::string("libblas.so.3 points at the reference BLAS; ") + kReferenceBlasFix
                                   : to_string(kind)));
  }
  return s;
}

int usable_core_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return static_cast<int>(std::thread::hardware_concurrency());
  return CPU_COUNT(&set);
}

std::string simd_features(const kernels::CpuFeatures& f) {
  std::string out;
  auto add = [&](bool has, const char* name) {
    if (has) out += (out.empty() ? "" : " ") + std::string(name);
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512dq, "avx512dq");
  add(f.avx512_bf16, "avx512_bf16");
  return out.empty() ? "none beyond SSE" : out;
}

EnvSection cpu_section(int usable_cores) {
  const std::string cpuinfo = read_text("/proc/cpuinfo");
  const std::string meminfo = read_text("/proc/meminfo");
  const int physical = physical_core_count(cpuinfo);
  const double total = meminfo_bytes(meminfo, "MemTotal");
  const double available = meminfo_bytes(meminfo, "MemAvailable");
  const auto isa = kernels::cpu_isa();
  const char* forced = std::getenv("DS_FORCE_CPU_ISA");
  return {"cpu", "CPU",
          {row("model", cpu_model_name(cpuinfo).empty() ? "unknown" : cpu_model_name(cpuinfo)),
           row("logical cores", std::to_string(std::thread::hardware_concurrency())),
           row("usable cores", std::to_string(usable_cores), EnvStatus::kOk, "this process's CPU affinity"),
           row("physical cores", physical > 0 ? std::to_string(physical) : "unknown"),
           row("memory", total > 0 ? format_bytes(total) : "unknown"),
           row("memory available", available > 0 ? format_bytes(available) : "unknown"),
           row("simd features", simd_features(kernels::detect_cpu_features())),
           row("kernel isa", kernels::to_string(isa),
               isa == kernels::CpuIsa::kScalar ? EnvStatus::kWarn : EnvStatus::kOk,
               forced ? std::string("DS_FORCE_CPU_ISA=") + forced
                      : (isa == kernels::CpuIsa::kScalar ? "no AVX2: ds's CPU kernels run their scalar path"
                                                         : "set DS_FORCE_CPU_ISA=scalar|avx2 to lower it"))}};
}

// liburing's version comes from the file name of the mapped library (liburing 2.3 has no
// version call); whether io_uring works here is answered by setting up a ring.
EnvSection io_section() {
#ifdef DS_HAVE_URING
  io_uring ring;
  const int rc = io_uring_queue_init(4, &ring, 0);
  if (rc == 0) io_uring_queue_exit(&ring);
  const auto version = library_file_version(mapped_files(read_text("/proc/self/maps")), "liburing.so");
  std::string why;
  if (rc == -ENOSYS) why = "the kernel has no io_uring (needs Linux 5.1+)";
  else if (rc == -EPERM) why = "io_uring is blocked here (seccomp, container or kernel.io_uring_disabled)";
  else if (rc != 0) why = std::strerror(-rc);
  return {"io", "I/O",
          {row("liburing", version.empty() ? "linked" : version),
           row("io_uring works", yes_no(rc == 0), rc == 0 ? EnvStatus::kOk : EnvStatus::kMissing,
               rc == 0 ? "NVMe offload uses io_uring" : why + "; NVMe offload falls back to pread/pwrite")}};
#else
  return {"io", "I/O",
          {row("liburing", "not built in", EnvStatus::kMissing,
               "install liburing-dev and rebuild; NVMe offload uses pread/pwrite")}};
#endif
}

EnvSection database_section(const EnvOptions& options) {
  EnvSection s{"database", "Database", {row("sqlite", profiles::sqlite_version())}};
  fs::path path;
  try {
    path = profiles::resolve_db_path(options.db_path);
  } catch (const Error& e) {
    s.rows.push_back(row("path", "none", EnvStatus::kWarn, e.what()));
    return s;
  }
  const char* ds_home = std::getenv("DS_HOME");
  const std::string source = !options.db_path.empty() ? "from --db"
                             : (ds_home && *ds_home) ? "from DS_HOME" : "default; set DS_HOME or --db to move it";
  s.rows.push_back(row("path", path.string(), EnvStatus::kOk, source));
  const auto db = profiles::inspect_db(path);
  s.rows.push_back(row("exists", yes_no(db.exists), EnvStatus::kOk, db.exists ? "" : "created on first use"));
  if (!db.error.empty()) {
    s.rows.push_back(row("schema version", "unreadable", EnvStatus::kWarn, db.error));
  } else if (db.exists) {
    const bool newer = db.schema_version > db.latest_version;
    s.rows.push_back(row("schema version", std::to_string(db.schema_version) + " of " + std::to_string(db.latest_version),
                         newer ? EnvStatus::kWarn : EnvStatus::kOk,
                         newer ? "written by a newer ds; upgrade ds or use another --db"
                               : (db.schema_version < db.latest_version ? "migrated on next use" : "")));
  }
  return s;
}

}  // namespace

const char* to_string(EnvStatus status) {
  switch (status) {
    case EnvStatus::kOk: return "ok";
    case EnvStatus::kWarn: return "warn";
    case EnvStatus::kMissing: return "missing";
  }
  return "ok";
}

const EnvRow* EnvReport::find(std::string_view section, std::string_view name) const {
  for (const auto& s : sections) {
    if (s.key != section) continue;
    for (const auto& r : s.rows) {
      if (r.name == name) return &r;
    }
  }
  return nullptr;
}

std::vector<std::string> EnvReport::warnings() const {
  std::vector<std::string> out;
  for (const auto& s : sections) {
    for (const auto& r : s.rows) {
      if (r.status == EnvStatus::kWarn) out.push_back(s.title + ": " + r.name + ": " + r.note);
    }
  }
  return out;
}

EnvReport env_report(const EnvOptions& options) {
  const TorchInfo torch = torch_info();
  const int cores = usable_core_count();
  EnvReport report;
  report.sections.push_back(ds_section());
  report.sections.push_back(torch_section(torch, cores));
  report.sections.push_back(cpu_section(cores));
  report.sections.push_back(blas_section(torch));
  report.sections.push_back(cuda_section(torch, driver_gpus()));
  report.sections.push_back(communication_section(torch));
  report.sections.push_back(io_section());
  report.sections.push_back(database_section(options));
  report.torch_build_config = torch.build_config;
  return report;
}

nlohmann::json to_json(const EnvReport& report) {
  nlohmann::json sections = nlohmann::json::object();
  for (const auto& s : report.sections) {
    nlohmann::json rows = nlohmann::json::object();
    for (const auto& r : s.rows) {
      std::string key = r.name;
      for (char& c : key) c = (c == ' ' || c == '-') ? '_' : c;
      rows[key] = {{"value", r.value}, {"status", to_string(r.status)}, {"note", r.note}};
    }
    sections[s.key] = std::move(rows);
  }
  return {{"sections", std::move(sections)},
          {"warnings", report.warnings()},
          {"torch_build_config", report.torch_build_config}};
}

}  // namespace ds::engine
