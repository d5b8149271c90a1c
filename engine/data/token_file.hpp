#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ds::engine::io {
class MappedFile;
}

namespace ds::engine::data {

/// How one token id is stored on disk (little-endian).
enum class TokenDtype { kUint16, kUint32 };

/// Bytes per token: 2 or 4.
std::size_t dtype_bytes(TokenDtype dtype);
/// "uint16" / "uint32".
std::string to_string(TokenDtype dtype);
/// Parses "uint16" / "uint32" (also "u16", "u32"); throws UsageError naming `where`.
TokenDtype parse_token_dtype(std::string_view text, std::string_view where);
/// The smallest dtype that holds every id below `vocab_size`.
TokenDtype dtype_for_vocab(std::int64_t vocab_size);

/// The on-disk layout of a token file.
enum class TokenFileFormat {
  kRaw,   ///< a bare array of tokens (nanoGPT `train.bin`: uint16)
  kLlmc,  ///< llm.c: 256 int32 header (magic, version, token count), then the tokens
};

// llm.c's header (karpathy/llm.c dev/data/data_common.py, write_datafile): 256 int32 values,
// [0] magic, [1] version, [2] number of tokens; GPT-2 files hold uint16, Llama-3 files uint32.
inline constexpr std::int32_t kLlmcMagicGpt2 = 20240520;
inline constexpr std::int32_t kLlmcVersionGpt2 = 1;
inline constexpr std::int32_t kLlmcMagicLlama3 = 20240801;
inline constexpr std::int32_t kLlmcVersionLlama3 = 7;
inline constexpr std::size_t kLlmcHeaderBytes = 256 * sizeof(std::int32_t);

/// What `ds data prepare` writes beside a token file as `<file>.json` (the sidecar): the
/// dtype (needed for raw files), the tokenizer and the vocabulary the ids come from.
struct TokenFileMeta {
  TokenFileFormat format = TokenFileFormat::kLlmc;
  TokenDtype dtype = TokenDtype::kUint16;
  std::int64_t num_tokens = 0;
  std::int64_t vocab_size = 0;        ///< 0: unknown
  std::string tokenizer;              ///< e.g. "byte"; empty: unknown
  std::optional<std::int64_t> eot_id; ///< end-of-text id placed between documents, if any
};

/// `<file>.json`, where a token file's sidecar lives.
std::filesystem::path sidecar_path(const std::filesystem::path& token_file);
/// Sidecar JSON text for `meta` (pretty-printed, stable key order).
std::string sidecar_json(const TokenFileMeta& meta);
/// Parses sidecar JSON; `where` names the sidecar file in errors (UsageError).
TokenFileMeta parse_sidecar(std::string_view text, const std::string& where);

/// What was found when a token file was opened.
struct TokenFileInfo {
  std::filesystem::path path;
  TokenFileFormat format = TokenFileFormat::kRaw;
  TokenDtype dtype = TokenDtype::kUint16;
  std::size_t num_tokens = 0;
  std::size_t header_bytes = 0;      ///< 0 for raw files, 1024 for llm.c files
  std::size_t file_bytes = 0;
  std::optional<TokenFileMeta> meta; ///< the sidecar, when there is one
};

/// How to open a token file.
struct TokenFileOptions {
  /// dtype of a raw file without a sidecar (nanoGPT writes uint16). When set and the header
  /// or sidecar says otherwise, opening fails rather than guessing.
  std::optional<TokenDtype> dtype;
  /// When > 0, every token is checked to be below this vocabulary size (one pass over the file).
  std::int64_t check_vocab_size = 0;
};

/// A read-only, memory-mapped token file. Reads nanoGPT raw arrays and llm.c files (detected by
/// the header magic); a `<file>.json` sidecar written by ds supplies the dtype of raw files and
/// the vocabulary. Copies share one mapping, which is unmapped when the last copy goes away.
class TokenFile {
 public:
  /// Opens and validates `path`; throws UsageError naming the file and what is wrong
  /// (missing, empty, size not a multiple of the dtype, bad header, id >= vocabulary).
  static TokenFile open(const std::filesystem::path& path, const TokenFileOptions& options = {});

  const TokenFileInfo& info() const { return info_; }
  /// Number of tokens.
  std::size_t size() const { return info_.num_tokens; }
  /// Token `index`; throws RuntimeError when out of range.
  std::uint32_t at(std::size_t index) const;
  /// Copies tokens [offset, offset + count) into `out` as int64 (the dtype torch embeddings
  /// take); throws RuntimeError when the range is outside the file.
  // performance-critical: called for every window of every batch.
  void read(std::size_t offset, std::size_t count, std::int64_t* out) const;
  /// Throws UsageError naming the first token id >= `vocab_size` and its index.
  void check_vocab(std::int64_t vocab_size) const;

 private:
  TokenFile() = default;

  TokenFileInfo info_;
  std::shared_ptr<const io::MappedFile> map_;
  const unsigned char* tokens_ = nullptr;  ///< first token byte inside the mapping
};

}  // namespace ds::engine::data
