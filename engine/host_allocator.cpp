#include "engine/host_allocator.hpp"

#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ds::engine {

bool keep_freed_host_memory() {
#if defined(__GLIBC__)
  // Setting either threshold also turns off glibc's dynamic threshold, so both are set: a trim
  // threshold alone would leave every tensor above 128 KiB mapped and unmapped on each use.
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  return mmap_ok && trim_ok;
#else
  return false;
#endif
}

}  // namespace ds::engine
