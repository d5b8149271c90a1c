// The text-parsing half of `ds env`: /proc/<pid>/maps, /proc/cpuinfo, /proc/meminfo and BLAS
// library paths. Pure functions, unit-tested on sample text (tests/engine/env_report_test.cpp).
#include <functional>
#include <set>
#include <utility>

#include "engine/env_report.hpp"

namespace ds::engine {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

void for_each_line(std::string_view text, const std::function<void(std::string_view)>& fn) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    fn(text.substr(start, end - start));
    start = end + 1;
  }
}

// "key<blanks>: value" lines as in /proc/cpuinfo and /proc/meminfo.
void for_each_field(std::string_view text, const std::function<void(std::string_view, std::string_view)>& fn) {
  for_each_line(text, [&](std::string_view line) {
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) fn(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  });
}

std::string_view file_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos || slash == 0 ? std::string_view{} : file_name(path.substr(0, slash));
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes) {
    if (s.starts_with(p)) return true;
  }
  return false;
}

}  // namespace

const char* to_string(BlasKind kind) {
  switch (kind) {
    case BlasKind::kNone: return "none";
    case BlasKind::kReference: return "reference BLAS (netlib)";
    case BlasKind::kOpenBlas: return "OpenBLAS";
    case BlasKind::kMkl: return "Intel MKL";
    case BlasKind::kBlis: return "BLIS";
    case BlasKind::kAtlas: return "ATLAS";
    case BlasKind::kFlexiBlas: return "FlexiBLAS";
  }
  return "none";
}

BlasKind classify_blas_library(std::string_view path) {
  const auto file = file_name(path);
  if (starts_with_any(file, {"libopenblas"})) return BlasKind::kOpenBlas;
  if (starts_with_any(file, {"libmkl_"})) return BlasKind::kMkl;
  if (starts_with_any(file, {"libblis"})) return BlasKind::kBlis;
  if (starts_with_any(file, {"libatlas", "libsatlas", "libtatlas"})) return BlasKind::kAtlas;
  if (starts_with_any(file, {"libflexiblas"})) return BlasKind::kFlexiBlas;
  if (!starts_with_any(file, {"libblas.so", "libcblas.so", "liblapack.so"})) return BlasKind::kNone;
  // Debian installs each implementation of libblas.so.3 in its own directory and picks one with
  // update-alternatives: blas/ (netlib reference), openblas-pthread/, openblas-openmp/,
  // openblas-serial/, blis-pthread/, blis-openmp/, atlas/.
  const auto dir = parent_name(path);
  if (dir.starts_with("openblas")) return BlasKind::kOpenBlas;
  if (dir.starts_with("blis")) return BlasKind::kBlis;
  if (dir.starts_with("atlas")) return BlasKind::kAtlas;
  // A plain libblas.so.3 (Debian's blas/, Fedora's /usr/lib64) is the netlib reference.
  return file.starts_with("liblapack") ? BlasKind::kNone : BlasKind::kReference;
}

std::vector<std::string> mapped_files(std::string_view proc_maps) {
  std::vector<std::string> files;
  std::set<std::string, std::less<>> seen;
  for_each_line(proc_maps, [&](std::string_view line) {
    // address perms offset dev inode [path]: the path starts at the first '/' after the inode.
    const auto slash = line.find(" /");
    if (slash == std::string_view::npos) return;
    std::string path(trim(line.substr(slash + 1)));
    constexpr std::string_view kDeleted = " (deleted)";
    if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
    if (seen.insert(path).second) files.push_back(std::move(path));
  });
  return files;
}

BlasDetection detect_blas(const std::vector<std::string>& mapped, const std::string& sgemm_provider) {
  if (!sgemm_provider.empty()) {
    if (const auto kind = classify_blas_library(sgemm_provider); kind != BlasKind::kNone) return {kind, sgemm_provider};
  }
  BlasDetection reference;
  for (const auto& path : mapped) {
    const auto kind = classify_blas_library(path);
    if (kind == BlasKind::kReference && reference.library.empty()) reference = {kind, path};
    if (kind != BlasKind::kNone && kind != BlasKind::kReference) return {kind, path};
  }
  if (!reference.library.empty()) return reference;
  // sgemm_ resolved to something we cannot name (e.g. BLAS linked statically into libtorch).
  return {BlasKind::kNone, sgemm_provider};
}

std::string library_file_version(const std::vector<std::string>& mapped, std::string_view stem) {
  for (const auto& path : mapped) {
    const auto file = file_name(path);
    if (file.size() > stem.size() + 1 && file.starts_with(stem) && file[stem.size()] == '.') {
      return std::string(file.substr(stem.size() + 1));
    }
  }
  return "";
}

std::string cpu_model_name(std::string_view cpuinfo) {
  std::string model;
  for_each_field(cpuinfo, [&](std::string_view key, std::string_view value) {
    if (model.empty() && key == "model name") model = value;
  });
  return model;
}

int physical_core_count(std::string_view cpuinfo) {
  std::set<std::pair<std::string, std::string>> cores;
  std::string package;
  for_each_field(cpuinfo, [&](std::string_view key, std::string_view value) {
    if (key == "processor") package.clear();
    if (key == "physical id") package = value;
    if (key == "core id") cores.emplace(package, value);
  });
  return static_cast<int>(cores.size());
}

double meminfo_bytes(std::string_view meminfo, std::string_view key) {
  double bytes = -1;
  for_each_field(meminfo, [&](std::string_view k, std::string_view value) {
    if (k != key || bytes >= 0) return;
    // "24683620 kB": the kernel's "kB" is KiB (Documentation/filesystems/proc.rst).
    try {
      bytes = std::stod(std::string(value)) * (value.ends_with("kB") ? 1024.0 : 1.0);
    } catch (const std::exception&) {
    }
  });
  return bytes;
}

}  // namespace ds::engine
