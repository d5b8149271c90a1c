// env_report_parse.cpp has no header of its own: its pure parsers are declared in env_report.hpp.
#include "engine/env_report.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ds::engine {
namespace {

// /proc/self/maps of a LibTorch process on Debian 12 with OpenBLAS selected (abridged).
constexpr const char* kOpenBlasMaps =
    "55d0c0000000-55d0c0001000 r--p 00000000 fe:00 1 /usr/bin/ds\n"
    "55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0 [heap]\n"
    "7f0000000000-7f0000100000 r--p 00000000 fe:00 2 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0\n"
    "7f0000100000-7f0000200000 r-xp 00100000 fe:00 2 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0\n"
    "7f0001000000-7f0001001000 r--p 00000000 fe:00 3 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\n"
    "7f0002000000-7f0002001000 r--p 00000000 fe:00 4 "
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so\n"
    "7f0003000000-7f0003001000 r--p 00000000 fe:00 5 /usr/lib/x86_64-linux-gnu/liburing.so.2.3\n"
    "7f0004000000-7f0004001000 rw-s 00000000 00:01 6 /dev/shm/x (deleted)\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";

// The same process after `update-alternatives` chose Debian's reference BLAS.
constexpr const char* kReferenceMaps =
    "7f0000000000-7f0000100000 r--p 00000000 fe:00 2 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0\n"
    "7f0001000000-7f0001001000 r--p 00000000 fe:00 3 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0\n"
    "7f0001100000-7f0001101000 r--p 00000000 fe:00 7 /usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3.11.0\n";

TEST(EnvParse, MappedFilesAreDistinctPathsInOrder) {
  EXPECT_EQ(mapped_files(kOpenBlasMaps),
            (std::vector<std::string>{"/usr/bin/ds", "/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.0",
                                      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
                                      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so",
                                      "/usr/lib/x86_64-linux-gnu/liburing.so.2.3", "/dev/shm/x"}));
  EXPECT_TRUE(mapped_files("").empty());
}

TEST(EnvParse, ClassifiesBlasLibrariesByPath) {
  const std::vector<std::pair<std::string, BlasKind>> cases = {
      {"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", BlasKind::kReference},
      {"/usr/lib64/libblas.so.3", BlasKind::kReference},
      {"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", BlasKind::kOpenBlas},
      {"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", BlasKind::kOpenBlas},
      {"/usr/lib/x86_64-linux-gnu/libopenblas.so.0", BlasKind::kOpenBlas},
      {"/opt/intel/oneapi/mkl/lib/libmkl_rt.so.2", BlasKind::kMkl},
      {"/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3", BlasKind::kBlis},
      {"/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3", BlasKind::kAtlas},
      {"/usr/lib64/libflexiblas.so.3", BlasKind::kFlexiBlas},
      {"/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3", BlasKind::kNone},
      {"/usr/lib/x86_64-linux-gnu/libpublish.so", BlasKind::kNone},
      {"/usr/lib/x86_64-linux-gnu/libtorch_cpu.so", BlasKind::kNone},
  };
  for (const auto& [path, kind] : cases) EXPECT_EQ(classify_blas_library(path), kind) << path;
}

TEST(EnvParse, DetectsTheBlasInUse) {
  const auto openblas = detect_blas(mapped_files(kOpenBlasMaps), "");
  EXPECT_EQ(openblas.kind, BlasKind::kOpenBlas);
  EXPECT_EQ(openblas.library, "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3");
  const auto reference = detect_blas(mapped_files(kReferenceMaps), "");
  EXPECT_EQ(reference.kind, BlasKind::kReference);
  EXPECT_EQ(reference.library, "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0");
  // Both mapped: the library the linker bound sgemm_ to decides.
  auto both = mapped_files(kReferenceMaps);
  both.push_back("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so");
  EXPECT_EQ(detect_blas(both, "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0").kind, BlasKind::kReference);
  EXPECT_EQ(detect_blas(both, "").kind, BlasKind::kOpenBlas);
  // sgemm_ inside LibTorch itself (a statically linked BLAS): named, kind unknown.
  const auto inside = detect_blas({"/usr/bin/ds"}, "/opt/libtorch/lib/libtorch_cpu.so");
  EXPECT_EQ(inside.kind, BlasKind::kNone);
  EXPECT_EQ(inside.library, "/opt/libtorch/lib/libtorch_cpu.so");
  EXPECT_EQ(detect_blas({}, "").library, "");
  EXPECT_STREQ(to_string(BlasKind::kReference), "reference BLAS (netlib)");
}

TEST(EnvParse, LibraryVersionsComeFromFileNames) {
  const auto mapped = mapped_files(kOpenBlasMaps);
  EXPECT_EQ(library_file_version(mapped, "liburing.so"), "2.3");
  EXPECT_EQ(library_file_version(mapped, "libtorch_cpu.so"), "1.13.0");
  EXPECT_EQ(library_file_version(mapped, "libsqlite3.so"), "");
}

TEST(EnvParse, CpuinfoAndMeminfo) {
  // Two sockets, two cores each, two hyper-threads per core: 8 logical, 4 physical.
  std::string cpuinfo;
  for (int cpu = 0; cpu < 8; ++cpu) {
    cpuinfo += "processor\t: " + std::to_string(cpu) + "\nmodel name\t: Intel(R) Xeon(R) Gold 6130\n" +
               "physical id\t: " + std::to_string(cpu / 4) + "\ncore id\t\t: " + std::to_string(cpu % 4 / 2) +
               "\n\n";
  }
  EXPECT_EQ(cpu_model_name(cpuinfo), "Intel(R) Xeon(R) Gold 6130");
  EXPECT_EQ(physical_core_count(cpuinfo), 4);
  EXPECT_EQ(physical_core_count("processor : 0\nmodel name : x\n"), 0);
  EXPECT_EQ(cpu_model_name("processor : 0\n"), "");
  const char* meminfo = "MemTotal:       24683620 kB\nMemFree:         1000 kB\nMemAvailable:   24112332 kB\n";
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "MemTotal"), 24683620.0 * 1024);
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "MemAvailable"), 24112332.0 * 1024);
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "SwapTotal"), -1);
}

TEST(EnvParse, MappedFilesKeepSpacesAndSkipAnonymousMappings) {
  const char* maps =
      "7f00-7f01 r--p 00000000 fe:00 9 /home/a user/lib dir/libx.so.1\r\n"
      "7f01-7f02 rw-p 00000000 00:00 0 \n"
      "7f02-7f03 r-xp 00000000 00:00 0 [vdso]\n"
      "7f03-7f04 r--p 00000000 fe:00 9 /home/a user/lib dir/libx.so.1\n"
      "7f04-7f05 r--p 00000000 fe:00 8 /lib/liby.so (deleted)";  // no final newline
  EXPECT_EQ(mapped_files(maps), (std::vector<std::string>{"/home/a user/lib dir/libx.so.1", "/lib/liby.so"}));
}

TEST(EnvParse, BlasEdgeCases) {
  // Debian's OpenBLAS alternative also provides liblapack.so.3 and libcblas; bare names have no directory.
  EXPECT_EQ(classify_blas_library("/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3"), BlasKind::kOpenBlas);
  EXPECT_EQ(classify_blas_library("/usr/lib/x86_64-linux-gnu/atlas/libcblas.so.3"), BlasKind::kAtlas);
  EXPECT_EQ(classify_blas_library("libblas.so.3"), BlasKind::kReference);
  EXPECT_EQ(classify_blas_library("/libblas.so.3"), BlasKind::kReference);
  EXPECT_EQ(classify_blas_library("/usr/lib/libsatlas.so.3"), BlasKind::kAtlas);
  EXPECT_EQ(classify_blas_library("/usr/lib/libblis.so.4"), BlasKind::kBlis);
  EXPECT_EQ(classify_blas_library("/usr/lib/libblasfeo.so"), BlasKind::kNone);
  EXPECT_EQ(classify_blas_library("/opt/openblas/libtorch_cpu.so"), BlasKind::kNone);  // the directory alone is not enough
  // An sgemm_ provider that is a known BLAS wins even over an optimized one mapped earlier.
  const auto mkl = detect_blas({"/usr/lib/libopenblas.so.0"}, "/opt/intel/libmkl_rt.so.2");
  EXPECT_EQ(mkl.kind, BlasKind::kMkl);
  EXPECT_EQ(mkl.library, "/opt/intel/libmkl_rt.so.2");
  const std::pair<BlasKind, const char*> names[] = {
      {BlasKind::kNone, "none"},   {BlasKind::kReference, "reference BLAS (netlib)"}, {BlasKind::kOpenBlas, "OpenBLAS"},
      {BlasKind::kMkl, "Intel MKL"}, {BlasKind::kBlis, "BLIS"}, {BlasKind::kAtlas, "ATLAS"},
      {BlasKind::kFlexiBlas, "FlexiBLAS"}};
  for (const auto& [kind, name] : names) EXPECT_STREQ(to_string(kind), name);
}

TEST(EnvParse, LibraryVersionNeedsADotAfterTheWholeStem) {
  const std::vector<std::string> mapped = {"/lib/liburing.so", "/lib/libtorch_cpu.so.2", "/lib/liburing.so.2"};
  EXPECT_EQ(library_file_version(mapped, "liburing.so"), "2");        // the bare .so has no version
  EXPECT_EQ(library_file_version(mapped, "libtorch.so"), "");         // libtorch_cpu is another library
  EXPECT_EQ(library_file_version({"/lib/libz.so.1.2.13", "/x/libz.so.9"}, "libz.so"), "1.2.13");  // the first
}

TEST(EnvParse, CpuinfoWithoutPackagesAndMeminfoUnits) {
  // One package and no "physical id" (some VMs): core ids alone are counted.
  EXPECT_EQ(physical_core_count("processor\t: 0\ncore id\t: 0\n\nprocessor\t: 1\ncore id\t: 1\n\n"
                                "processor\t: 2\ncore id\t: 1\n"),
            2);
  EXPECT_EQ(cpu_model_name("processor : 0\r\nmodel name : AMD EPYC 7B13  \r\nmodel name : other\n"), "AMD EPYC 7B13");
  const char* meminfo = "MemTotal: 1 kB\nHugePages_Total:       3\nHugepagesize:    2048 kB\nBad: x kB\n";
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "HugePages_Total"), 3);  // a count, no unit
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "Hugepagesize"), 2048.0 * 1024);
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "Mem"), -1);  // keys match whole
  EXPECT_DOUBLE_EQ(meminfo_bytes(meminfo, "Bad"), -1);
}

}  // namespace
}  // namespace ds::engine
