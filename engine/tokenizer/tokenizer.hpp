#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ds::engine::tokenizer {

/// How text becomes ids.
struct EncodeOptions {
  bool add_special_tokens = true;  ///< add what the file's post-processor adds (Llama 2's <s>)
  bool parse_special = true;       ///< "<|im_start|>" written in the text becomes its id, not its characters
};

/// Text <-> token ids: `ds data prepare` (documents), `ds tokenize`, the serving engine (prompts,
/// streamed output). Implementations are immutable after construction and safe to share between threads.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  /// Recorded in the token file's sidecar: "byte", or "hf:<absolute path of tokenizer.json>".
  virtual std::string name() const = 0;
  /// Every id produced is below this.
  virtual std::int64_t vocab_size() const = 0;
  /// The end-of-text id `ds data prepare --eot` places between documents, if the tokenizer has one.
  virtual std::optional<std::uint32_t> eot_id() const = 0;
  /// The beginning-of-sequence id: the one the file's template adds, else a well-known BOS token
  /// the vocabulary has. The serving side may override it from tokenizer_config.json.
  virtual std::optional<std::uint32_t> bos_id() const { return std::nullopt; }
  /// The end-of-sequence id (a well-known EOS token of the vocabulary), if any.
  virtual std::optional<std::uint32_t> eos_id() const { return eot_id(); }

  /// Appends the ids of `text` to `out`. Invalid UTF-8 is read as U+FFFD.
  virtual void encode(std::string_view text, const EncodeOptions& options, std::vector<std::uint32_t>& out) const = 0;
  /// The ids of `text`.
  std::vector<std::uint32_t> encode(std::string_view text, const EncodeOptions& options = {}) const {
    std::vector<std::uint32_t> ids;
    encode(text, options, ids);
    return ids;
  }
  /// For `ds data prepare`: appends the ids of a piece of a document, adding nothing and reading
  /// special-token text as plain text (training data that mentions "<|endoftext|>" stays text).
  /// Callers pass pieces that end at a line break, so a word is never cut in two.
  void encode(std::string_view text, std::vector<std::uint32_t>& out) const {
    encode(text, EncodeOptions{.add_special_tokens = false, .parse_special = false}, out);
  }

  /// The text of `ids` (special tokens included as their text). Never throws for an id: unknown
  /// ids decode to nothing.
  virtual std::string decode(std::span<const std::uint32_t> ids) const = 0;

  /// The id of the vocabulary entry (or added token) spelled `token`, e.g. "<|eot_id|>".
  virtual std::optional<std::uint32_t> token_to_id(std::string_view token) const = 0;
  /// The vocabulary entry of `id` as stored (byte-level form, "▁" for spaces); "" when unknown.
  virtual std::string id_to_token(std::uint32_t id) const = 0;
  /// True for control tokens (special added tokens) that chat output usually hides.
  virtual bool is_special(std::uint32_t id) const { return eot_id() == id; }

  /// StreamDecoder's view: the bytes of `ids` without replacing unfinished UTF-8 by U+FFFD.
  virtual std::string decode_raw(std::span<const std::uint32_t> ids) const { return decode(ids); }
};

/// Bytes as ids 0-255, plus id 256 for end-of-text: vocabulary 257. Lossless for any input and
/// needs no vocabulary file; the fallback until a real tokenizer is given.
class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr std::uint32_t kEotId = 256;
  static constexpr std::int64_t kVocabSize = 257;

  using Tokenizer::encode;
  std::string name() const override { return "byte"; }
  std::int64_t vocab_size() const override { return kVocabSize; }
  std::optional<std::uint32_t> eot_id() const override { return kEotId; }
  void encode(std::string_view text, const EncodeOptions& options, std::vector<std::uint32_t>& out) const override;
  std::string decode(std::span<const std::uint32_t> ids) const override;
  std::optional<std::uint32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(std::uint32_t id) const override;
};

/// Reads a Hugging Face tokenizer.json (`file_or_dir` is the file or a model directory holding
/// one). Throws UsageError naming the file and JSON key for anything malformed or unsupported.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& file_or_dir);

/// The tokenizer `spec` names: "byte", or a tokenizer.json / model directory (load_tokenizer).
/// Throws UsageError for anything else.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view spec);

}  // namespace ds::engine::tokenizer
