#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ds::engine::data {

/// Text -> token ids for `ds data prepare`. The byte-level tokenizer implements it today; the
/// HF tokenizer.json (byte-level BPE) plugs in behind the same interface.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  /// Recorded in the token file's sidecar, e.g. "byte".
  virtual std::string name() const = 0;
  /// Every id produced is below this.
  virtual std::int64_t vocab_size() const = 0;
  /// The end-of-text id placed between documents, if the tokenizer has one.
  virtual std::optional<std::uint32_t> eot_id() const = 0;
  /// Appends the ids of `text` to `out`. Callers pass text in pieces that end at a line break
  /// (or at the end of a document), so a tokenizer never sees a word cut in two.
  virtual void encode(std::string_view text, std::vector<std::uint32_t>& out) const = 0;
  /// The text of `ids` (the end-of-text id decodes to its marker string).
  virtual std::string decode(std::span<const std::uint32_t> ids) const = 0;
};

/// Bytes as ids 0-255, plus id 256 for end-of-text: vocabulary 257. Lossless for any input and
/// needs no vocabulary file; the fallback until a real tokenizer is given.
class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr std::uint32_t kEotId = 256;
  static constexpr std::int64_t kVocabSize = 257;

  std::string name() const override { return "byte"; }
  std::int64_t vocab_size() const override { return kVocabSize; }
  std::optional<std::uint32_t> eot_id() const override { return kEotId; }
  void encode(std::string_view text, std::vector<std::uint32_t>& out) const override;
  std::string decode(std::span<const std::uint32_t> ids) const override;
};

/// The tokenizer named by `spec` ("byte"); throws UsageError listing the known names.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view spec);

}  // namespace ds::engine::data
