#include "engine/host_allocator.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

namespace {

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Keeps the compiler from eliding a block nothing reads (it may drop malloc, memset and free).
void escape(void* p) { asm volatile("" : : "g"(p) : "memory"); }

// Page faults of touching a fresh 64 MiB block, after one such block was allocated and freed.
long faults_of_a_reused_block() {
  constexpr std::size_t kBytes = 64u << 20;
  void* first = std::malloc(kBytes);
  std::memset(first, 1, kBytes);
  escape(first);
  std::free(first);
  const long before = minor_faults();
  void* second = std::malloc(kBytes);
  std::memset(second, 2, kBytes);
  escape(second);
  const long faults = minor_faults() - before;
  std::free(second);
  return faults;
}

TEST(HostAllocator, FreedBlocksAreReusedWithoutFaultingAgain) {
  // glibc's default maps a block this size (above its 32 MiB dynamic limit) and unmaps it on
  // free: the second block faults in all of its 16,384 pages again.
  EXPECT_GT(faults_of_a_reused_block(), 8000);
  ASSERT_TRUE(ds::engine::keep_freed_host_memory());
  faults_of_a_reused_block();  // the heap grows once
  EXPECT_LT(faults_of_a_reused_block(), 1000);
}

}  // namespace
