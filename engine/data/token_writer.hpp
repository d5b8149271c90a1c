#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "engine/data/token_file.hpp"

namespace ds::engine::data {

/// Streams tokens into an llm.c-format token file (uint16 with the GPT-2 magic when the
/// vocabulary fits, else uint32 with the Llama-3 magic) plus its `<file>.json` sidecar.
/// Atomic: tokens go to `<file>.tmp.<pid>`; commit() fills in the header, fsyncs and renames,
/// so a crash leaves the previous file or the complete new one. Without commit() the
/// destructor removes the temporary file.
class TokenFileWriter {
 public:
  /// `meta.dtype` and `meta.format` are set here from `meta.vocab_size` (which must be > 0).
  TokenFileWriter(std::filesystem::path path, TokenFileMeta meta);
  TokenFileWriter(const TokenFileWriter&) = delete;
  TokenFileWriter& operator=(const TokenFileWriter&) = delete;
  ~TokenFileWriter();

  /// Appends ids; throws RuntimeError for an id >= the vocabulary (a tokenizer bug).
  void append(std::span<const std::uint32_t> tokens);
  /// Tokens appended so far.
  std::int64_t size() const { return count_; }
  /// Moves tokens [from, size()) to the end of `other` and drops them here (the val split).
  void move_tail_to(std::int64_t from, TokenFileWriter& other);
  /// Writes the header and the sidecar and renames both into place. Returns the metadata written.
  TokenFileMeta commit();

 private:
  void flush();

  std::filesystem::path path_;
  std::filesystem::path tmp_;
  TokenFileMeta meta_;
  int fd_ = -1;
  std::int64_t count_ = 0;             ///< tokens appended (flushed + buffered)
  std::vector<unsigned char> buffer_;  ///< encoded tokens not yet written
};

/// Writes `tokens` as one token file with its sidecar (convenience for small files and tests).
TokenFileMeta write_token_file(const std::filesystem::path& path, std::span<const std::uint32_t> tokens,
                               const TokenFileMeta& meta);

}  // namespace ds::engine::data
