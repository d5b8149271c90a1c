#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace ds {

/// Writes `content` to `path` so that a crash at any moment leaves either the old file or the
/// new one, never a torn one: write to a temporary file beside it, fsync, rename, fsync the
/// directory. Throws RuntimeError naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Reads a whole file; throws UsageError naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// fsync a directory so a rename inside it is durable.
void fsync_directory(const std::filesystem::path& dir);

}  // namespace ds
