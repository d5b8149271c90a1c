#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/data/token_file.hpp"

namespace ds::engine::data {

/// Text that ships with every Debian system: the license texts of the `base-files` package
/// (Essential: yes, so it cannot be missing), 232 KiB of English prose. The quickstart
/// prepares its training data from this directory; no download is needed.
inline constexpr const char* kDebianSampleCorpus = "/usr/share/common-licenses";

/// What `ds data prepare` does.
struct PrepareOptions {
  /// Files or directories. A directory contributes its regular files (recursively, sorted by
  /// path; symbolic links inside it are skipped so aliases such as GPL -> GPL-3 count once).
  /// `.jsonl` files hold one JSON object per line, every other file is plain text.
  std::vector<std::filesystem::path> inputs;
  std::filesystem::path out;              ///< training token file
  std::filesystem::path val_out;          ///< validation token file; empty: default_val_path(out)
  std::string tokenizer = "byte";         ///< tokenizer name (make_tokenizer)
  double val_fraction = 0.1;              ///< share of tokens (the tail of the stream) held out, [0, 1)
  bool eot = false;                       ///< put the tokenizer's end-of-text id between documents
  std::string text_field = "text";        ///< JSONL: the field holding a document's text
  bool progress = true;                   ///< draw a progress bar on stderr
};

/// One token file written.
struct PreparedFile {
  std::filesystem::path path;
  std::int64_t tokens = 0;
};

/// What `ds data prepare` wrote.
struct PrepareResult {
  PreparedFile train;
  PreparedFile val;             ///< path empty when val_fraction is 0
  std::int64_t documents = 0;   ///< text files plus JSONL records
  std::int64_t input_bytes = 0;
  std::string tokenizer;
  std::int64_t vocab_size = 0;
  TokenDtype dtype = TokenDtype::kUint16;
};

/// `X.val.bin` beside `X.bin` (`X.val` + the extension of `out`, ".bin" when it has none).
std::filesystem::path default_val_path(const std::filesystem::path& out);

/// Tokenizes the inputs into llm.c-format token files (+ `<file>.json` sidecars), written
/// atomically. The last `val_fraction` of the token stream goes to the validation file.
/// Throws UsageError for missing inputs, bad JSONL (naming file:line) and bad options.
PrepareResult prepare_data(const PrepareOptions& options);

}  // namespace ds::engine::data
