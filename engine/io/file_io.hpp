#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace ds::engine::io {

/// A whole file mapped into memory, copy-on-write (MAP_PRIVATE, read/write): tensors built over
/// it may be modified in place without touching the file or faulting. Shared so tensors that
/// point into it keep it alive.
class MappedFile {
 public:
  /// Maps `path`; throws UsageError naming it when it cannot be opened, RuntimeError when mmap fails.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Streams a file so that a crash at any moment leaves either the old file or the new one:
/// bytes go to "<path>.tmp.<pid>", commit() fsyncs it, renames it over `path` and fsyncs the
/// directory. Destroyed without commit(), the temporary is removed. Errors are RuntimeErrors
/// naming the path. (common/atomic_file.hpp does the same for a string already in memory.)
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t bytes);
  /// fsync, rename into place, fsync the directory.
  void commit();
  std::uint64_t bytes_written() const { return written_; }

 private:
  std::filesystem::path path_;
  std::string tmp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

}  // namespace ds::engine::io
