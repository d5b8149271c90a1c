#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ds::engine::tokenizer {

struct JsonPath;
struct BpeTables;

/// Hash for string keys that also accepts string_view, so lookups do not allocate.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenIds = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

/// Byte-pair encoding over a vocabulary and ranked merges (tokenizer.json "model" of type BPE):
/// a word starts as its characters and the adjacent pair of lowest merge rank is merged until no
/// ranked pair is left. Thread-safe; words are cached.
class BpeModel {
 public:
  /// Reads the model object at `at`: vocab, merges ("a b" strings or ["a", "b"] pairs),
  /// unk_token, byte_fallback, fuse_unk, ignore_merges, continuing_subword_prefix,
  /// end_of_word_suffix. UsageError naming the key for anything malformed or unsupported (dropout).
  /// `tables`: vocab and merges already read (read_tokenizer_json), instead of the JSON's.
  BpeModel(const nlohmann::json& model, const JsonPath& at, const BpeTables* tables = nullptr);

  /// Appends the ids of one pre-tokenized word to `out`.
  // performance-critical: `ds data prepare` spends most of its time here; benchmark any change.
  void encode_word(std::string_view word, std::vector<std::uint32_t>& out) const;

  /// The vocabulary (without added tokens).
  const TokenIds& vocab() const { return vocab_; }
  /// The id of the unknown token, if the file names one.
  std::optional<std::uint32_t> unk_id() const { return unk_id_; }

 private:
  void encode_cached(std::string_view word, std::vector<std::uint32_t>& out) const;
  void merge_word(std::string_view word, std::vector<std::uint32_t>& out) const;
  void add_symbol(std::string_view piece, std::vector<std::uint32_t>& symbols) const;
  void read_vocab(const nlohmann::json& model, const JsonPath& at, const BpeTables* tables);
  void read_merges(const nlohmann::json& model, const JsonPath& at, const BpeTables* tables);

  TokenIds vocab_;
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>> merges_;
  std::optional<std::uint32_t> unk_id_;
  std::vector<std::uint32_t> byte_ids_;  ///< <0x00>..<0xFF> when byte_fallback and all present
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  // No token has "▁" right after another character, so no merge crosses the point before a
  // "▁" that follows a non-"▁": SentencePiece-style files (Llama 2, whose "words" are whole lines)
  // then encode word by word, each cached, instead of running BPE on the line.
  bool split_before_metaspace_ = false;

  static constexpr std::size_t kMaxCachedWordBytes = 256;
  static constexpr std::size_t kMaxCacheEntries = 1 << 17;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace ds::engine::tokenizer
