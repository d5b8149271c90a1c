#include "profiles/machine_info.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace ds::profiles {
namespace {

std::string slurp(const char* path) {
  std::ifstream in(path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

// "key : value" lines of /proc/cpuinfo.
bool split_field(const std::string& line, std::string& key, std::string& value) {
  auto colon = line.find(':');
  if (colon == std::string::npos) return false;
  key = trim(line.substr(0, colon));
  value = trim(line.substr(colon + 1));
  return true;
}

// FNV-1a 64: a stable, dependency-free digest (not for security, only identity).
std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string parse_cpu_model(const std::string& cpuinfo) {
  std::istringstream in(cpuinfo);
  std::string line, key, value;
  while (std::getline(in, line)) {
    if (split_field(line, key, value) && key == "model name") return value;
  }
  return "unknown CPU";
}

int parse_physical_cores(const std::string& cpuinfo) {
  // Count distinct (physical id, core id) pairs; VMs often omit them, then count processors.
  std::istringstream in(cpuinfo);
  std::string line, key, value, physical = "0";
  std::set<std::string> cores;
  int processors = 0;
  while (std::getline(in, line)) {
    if (!split_field(line, key, value)) continue;
    if (key == "processor") ++processors;
    else if (key == "physical id") physical = value;
    else if (key == "core id") cores.insert(physical + ":" + value);
  }
  return cores.empty() ? processors : static_cast<int>(cores.size());
}

std::uint64_t parse_mem_total_bytes(const std::string& meminfo) {
  std::istringstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "MemTotal: %llu kB", &kib) == 1) return kib * 1024ull;
  }
  return 0;
}

std::string MachineInfo::fingerprint() const {
  std::ostringstream key;
  // Memory is rounded to GiB: MemTotal moves by a few MiB across kernel versions.
  key << cpu_model << '|' << cpu_cores << '|' << cpu_threads << '|' << (memory_bytes >> 30) << '|' << gpu_driver;
  for (const auto& g : gpus) key << '|' << g.name;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(key.str())));
  return buf;
}

std::vector<GpuInfo> parse_nvidia_smi_gpus(const std::string& csv, std::string& driver) {
  std::vector<GpuInfo> gpus;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    const auto comma = line.rfind(',');
    if (comma == std::string::npos) continue;
    auto trim = [](std::string t) {
      const auto b = t.find_first_not_of(" \t\r");
      const auto e = t.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
    };
    std::string name = trim(line.substr(0, comma));
    std::string version = trim(line.substr(comma + 1));
    if (name.empty() || version.empty()) continue;
    if (gpus.empty()) driver = version;
    gpus.push_back({name, 0, 0});
  }
  return gpus;
}

namespace {

// nvidia-smi rather than CUDA: the torch-free ds and a CPU-only LibTorch see the GPUs too, so
// every build of ds on one machine computes the same fingerprint.
void read_nvidia_gpus(MachineInfo& info) {
  FILE* pipe = ::popen("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null", "r");
  if (pipe == nullptr) return;
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  if (::pclose(pipe) != 0) return;
  info.gpus = parse_nvidia_smi_gpus(out, info.gpu_driver);
}

MachineInfo read_machine_info_uncached() {
  MachineInfo info;
  std::string cpuinfo = slurp("/proc/cpuinfo");
  info.cpu_model = parse_cpu_model(cpuinfo);
  info.cpu_cores = parse_physical_cores(cpuinfo);
  info.cpu_threads = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  if (info.cpu_cores <= 0) info.cpu_cores = info.cpu_threads;
  info.memory_bytes = parse_mem_total_bytes(slurp("/proc/meminfo"));
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) info.hostname = host;
  read_nvidia_gpus(info);
  return info;
}

}  // namespace

MachineInfo read_machine_info() {
  static const MachineInfo info = read_machine_info_uncached();
  return info;
}

}  // namespace ds::profiles
