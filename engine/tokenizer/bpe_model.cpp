#include "engine/tokenizer/bpe_model.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <algorithm>
#include <queue>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/tokenizer_json.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// True when `token` has a "▁" right after some other character ("a▁"): a merge could then join
// across the start of a SentencePiece word.
bool has_glued_metaspace(std::string_view token) {
  for (std::size_t at = token.find(kMetaspace, 1); at != std::string_view::npos; at = token.find(kMetaspace, at + 1)) {
    if (at < kMetaspace.size() || token.substr(at - kMetaspace.size(), kMetaspace.size()) != kMetaspace) return true;
  }
  return false;
}

std::uint64_t pair_key(std::uint32_t left, std::uint32_t right) {
  return (static_cast<std::uint64_t>(left) << 32) | right;
}

// One merge: "a b" (older files) or ["a", "b"] (newer files, where tokens may hold spaces), as
// views into the JSON. `at` is the merges array (the entry's path is only built for an error).
std::pair<std::string_view, std::string_view> parse_merge(const nlohmann::json& merge, const JsonPath& at, std::size_t rank) {
  if (merge.is_string()) {
    const std::string_view s = merge.get_ref<const std::string&>();
    const auto space = s.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= s.size() || s.find(' ', space + 1) != std::string::npos) {
      throw UsageError(format_error(at.index(rank).where(), "malformed merge", "'" + std::string(s) + "'",
                                    "two tokens separated by one space"));
    }
    return {s.substr(0, space), s.substr(space + 1)};
  }
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    return {merge[0].get_ref<const std::string&>(), merge[1].get_ref<const std::string&>()};
  }
  throw UsageError(format_error(at.index(rank).where(), "malformed merge", merge.dump(), "\"a b\" or [\"a\", \"b\"]"));
}

struct Merge {
  std::uint32_t rank;
  std::uint32_t pos;     ///< index of the left symbol
  std::uint32_t new_id;  ///< what the pair becomes; a stale entry no longer matches
  // Lowest rank first; among equal ranks the leftmost pair, as the Rust crate does.
  bool operator>(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

BpeModel::BpeModel(const nlohmann::json& model, const JsonPath& at, const BpeTables* tables) {
  read_vocab(model, at, tables);
  if (const auto* dropout = find_field(model, "dropout"); dropout != nullptr && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    throw UsageError(format_error(at.child("dropout").where(), "unsupported BPE dropout", dropout->dump(),
                                  "null (dropout is for training a tokenizer, not for using one)"));
  }
  continuing_subword_prefix_ = string_field(model, "continuing_subword_prefix", at, "");
  end_of_word_suffix_ = string_field(model, "end_of_word_suffix", at, "");
  fuse_unk_ = bool_field(model, "fuse_unk", at, false);
  ignore_merges_ = bool_field(model, "ignore_merges", at, false);
  if (const auto unk = string_field(model, "unk_token", at, ""); !unk.empty()) {
    const auto it = vocab_.find(unk);
    if (it == vocab_.end()) {
      throw UsageError(format_error(at.child("unk_token").where(), "not in the vocabulary", "'" + unk + "'", "a token of model.vocab"));
    }
    unk_id_ = it->second;
  }
  if (bool_field(model, "byte_fallback", at, false)) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      const auto it = vocab_.find(std::string_view(name));
      if (it == vocab_.end()) {
        byte_ids_.clear();
        break;
      }
      byte_ids_.push_back(it->second);
    }
  }
  split_before_metaspace_ = continuing_subword_prefix_.empty() && end_of_word_suffix_.empty() &&
                            vocab_.contains(kMetaspace) &&
                            std::none_of(vocab_.begin(), vocab_.end(), [](const auto& e) { return has_glued_metaspace(e.first); });
  read_merges(model, at, tables);
}

void BpeModel::read_vocab(const nlohmann::json& model, const JsonPath& at, const BpeTables* tables) {
  if (tables != nullptr) {
    vocab_.reserve(tables->vocab.size());
    // A repeated token keeps its last id, as a JSON object does.
    for (const auto& [token, id] : tables->vocab) vocab_.insert_or_assign(token, id);
    return;
  }
  const auto* vocab = find_field(model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    throw UsageError(format_error(at.child("vocab").where(), vocab ? "wrong type" : "missing",
                                  vocab ? json_type_name(*vocab) : "", "an object of token -> id"));
  }
  vocab_.reserve(vocab->size());
  for (const auto& [token, id] : vocab->items()) {
    const auto value = as_token_id(id);
    if (!value) {
      throw UsageError(format_error(at.child("vocab").child(token).where(), "bad id", id.dump(), "an integer >= 0"));
    }
    vocab_.emplace(token, *value);
  }
}

void BpeModel::read_merges(const nlohmann::json& model, const JsonPath& at, const BpeTables* tables) {
  const nlohmann::json* merges = tables != nullptr ? nullptr : &required_array(model, "merges", at);
  const std::size_t count = tables != nullptr ? tables->merges.size() : merges->size();
  merges_.reserve(count);
  const std::size_t prefix = continuing_subword_prefix_.size();
  const JsonPath merges_at = at.child("merges");
  std::string joined;
  // performance-critical: hundreds of thousands of merges at every load; nothing allocates per merge.
  for (std::size_t rank = 0; rank < count; ++rank) {
    const auto [left, right] = tables != nullptr ? std::pair<std::string_view, std::string_view>(tables->merges[rank])
                                                 : parse_merge((*merges)[rank], merges_at, rank);
    const auto l = vocab_.find(left), r = vocab_.find(right);
    // The merged token drops the right side's continuing-subword prefix ("##").
    joined.assign(left);
    joined.append(prefix > 0 && right.substr(0, prefix) == continuing_subword_prefix_ ? right.substr(prefix) : right);
    const auto j = vocab_.find(joined);
    if (l == vocab_.end() || r == vocab_.end() || j == vocab_.end()) {
      const std::string_view missing = l == vocab_.end() ? left : r == vocab_.end() ? right : std::string_view(joined);
      throw UsageError(format_error(merges_at.index(rank).where(), "merge uses a token not in model.vocab",
                                    "'" + std::string(missing) + "'", "merges of vocabulary tokens"));
    }
    merges_.emplace(pair_key(l->second, r->second), std::make_pair(static_cast<std::uint32_t>(rank), j->second));
  }
}

void BpeModel::add_symbol(std::string_view piece, std::vector<std::uint32_t>& symbols) const {
  if (const auto it = vocab_.find(piece); it != vocab_.end()) {
    symbols.push_back(it->second);
    return;
  }
  if (!byte_ids_.empty()) {
    for (char c : piece) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
    return;
  }
  if (!unk_id_) return;  // no unknown token: the character is dropped, as in the Rust crate
  if (fuse_unk_ && !symbols.empty() && symbols.back() == *unk_id_) return;
  symbols.push_back(*unk_id_);
}

void BpeModel::merge_word(std::string_view word, std::vector<std::uint32_t>& out) const {
  // Initial symbols: one per character (with the subword prefix/suffix the model asks for).
  std::vector<std::uint32_t> ids;
  ids.reserve(word.size());
  std::string piece;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t n = utf8_sequence_length(static_cast<unsigned char>(word[i]));
    if (i + n > word.size()) n = word.size() - i;
    const bool first = i == 0, last = i + n == word.size();
    if (first && last && continuing_subword_prefix_.empty() && end_of_word_suffix_.empty()) {
      add_symbol(word, ids);
    } else {
      piece.assign(first ? "" : continuing_subword_prefix_);
      piece.append(word.substr(i, n));
      if (last) piece.append(end_of_word_suffix_);
      add_symbol(piece, ids);
    }
    i += n;
  }
  if (ids.size() < 2) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  // A doubly linked list of symbols and a min-heap of mergeable neighbours.
  const auto count = static_cast<std::int32_t>(ids.size());
  std::vector<std::int32_t> prev(count), next(count);
  std::vector<bool> alive(count, true);
  std::priority_queue<Merge, std::vector<Merge>, std::greater<>> queue;
  auto push_pair = [&](std::int32_t left) {
    if (left < 0 || next[left] < 0) return;
    const auto it = merges_.find(pair_key(ids[left], ids[next[left]]));
    if (it != merges_.end()) queue.push({it->second.first, static_cast<std::uint32_t>(left), it->second.second});
  };
  for (std::int32_t i = 0; i < count; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < count ? i + 1 : -1;
  }
  for (std::int32_t i = 0; i + 1 < count; ++i) push_pair(i);
  while (!queue.empty()) {
    const Merge m = queue.top();
    queue.pop();
    const auto left = static_cast<std::int32_t>(m.pos);
    const std::int32_t right = next[left];
    if (!alive[left] || right < 0) continue;
    const auto it = merges_.find(pair_key(ids[left], ids[right]));
    if (it == merges_.end() || it->second.second != m.new_id) continue;  // stale: a neighbour changed
    ids[left] = m.new_id;
    alive[right] = false;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    push_pair(prev[left]);
    push_pair(left);
  }
  for (std::int32_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

void BpeModel::encode_word(std::string_view word, std::vector<std::uint32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto it = vocab_.find(word); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (!split_before_metaspace_ || word.size() <= kMaxCachedWordBytes) return encode_cached(word, out);
  std::size_t start = 0;
  for (std::size_t at = word.find(kMetaspace, 1); at != std::string_view::npos; at = word.find(kMetaspace, at + kMetaspace.size())) {
    const bool after_metaspace = at >= kMetaspace.size() && word.substr(at - kMetaspace.size(), kMetaspace.size()) == kMetaspace;
    if (after_metaspace || at == start) continue;
    encode_cached(word.substr(start, at - start), out);
    start = at;
  }
  encode_cached(word.substr(start), out);
}

void BpeModel::encode_cached(std::string_view word, std::vector<std::uint32_t>& out) const {
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (const auto it = cache_.find(word); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    // A simple bound: start over when full (the frequent words come right back).
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.emplace(std::string(word), std::vector<std::uint32_t>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
  }
}

}  // namespace ds::engine::tokenizer
