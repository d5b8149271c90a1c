#pragma once
// How the engine's process hands freed host memory back. glibc's defaults (tensors above its
// mmap threshold mapped and unmapped one by one; free heap above 128 KiB trimmed) make every
// training step fault its activations in afresh, a cost that on a virtual machine varies from
// step to step by more than the work does. The engine keeps freed host memory in the heap
// instead, as PyTorch's caching allocator does on a GPU (and jemalloc or tcmalloc, which Intel's
// PyTorch CPU guide preloads, do on a host).

namespace ds::engine {

/// Serves host allocations up to 1 GiB from the heap and keeps up to 2 GiB of freed heap for
/// reuse (glibc's mallopt). Returns false where the C library refused either (not glibc, or a
/// glibc with other limits); the process then runs with the defaults. Call once, early: it
/// applies to allocations after it.
bool keep_freed_host_memory();

}  // namespace ds::engine
