#include "engine/tokenizer/added_vocabulary.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/error.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/normalizer.hpp"

namespace ds::engine::tokenizer {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

void trim_end(std::string_view& s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
}

void trim_start(std::string_view& s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view key, std::int32_t token) {
  starts[static_cast<unsigned char>(key[0])] = true;
  std::int32_t node = 0;
  for (char c : key) {
    auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), c, [](const auto& p, char k) { return p.first < k; });
    if (it == children.end() || it->first != c) {
      const auto child = static_cast<std::int32_t>(nodes.size());
      it = children.insert(it, {c, child});
      nodes.emplace_back();  // invalidates `children`, not `child`
      node = child;
    } else {
      node = it->second;
    }
  }
  if (nodes[node].token < 0) nodes[node].token = token;  // a duplicate content keeps the first id
}

AddedVocabulary::AddedVocabulary(const nlohmann::json* added_tokens, const JsonPath& at, const Normalizer* normalizer) {
  if (added_tokens == nullptr) return;
  if (!added_tokens->is_array()) {
    throw UsageError(format_error(at.where(), "wrong type", json_type_name(*added_tokens), "an array of added tokens"));
  }
  for (std::size_t i = 0; i < added_tokens->size(); ++i) {
    const auto& entry = (*added_tokens)[i];
    const JsonPath entry_at = at.index(i);
    require_object(entry, entry_at);
    AddedToken t;
    t.content = required_string(entry, "content", entry_at);
    const auto* id = find_field(entry, "id");
    if (id == nullptr || !as_token_id(*id)) {
      throw UsageError(format_error(entry_at.child("id").where(), id ? "bad id" : "missing", id ? id->dump() : "", "an integer >= 0"));
    }
    if (t.content.empty()) throw UsageError(format_error(entry_at.child("content").where(), "empty", "", "the token's text"));
    t.id = *as_token_id(*id);
    t.special = bool_field(entry, "special", entry_at, false);
    t.lstrip = bool_field(entry, "lstrip", entry_at, false);
    t.rstrip = bool_field(entry, "rstrip", entry_at, false);
    t.single_word = bool_field(entry, "single_word", entry_at, false);
    t.normalized = bool_field(entry, "normalized", entry_at, !t.special);
    tokens_.push_back(std::move(t));
  }
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (t.normalized && normalizer != nullptr) {
      const std::string form = normalizer->normalize(t.content);
      if (!form.empty()) normalized_.insert(form, static_cast<std::int32_t>(i));
    } else {
      raw_.insert(t.content, static_cast<std::int32_t>(i));
    }
  }
}

std::int32_t AddedVocabulary::match_at(const Trie& trie, std::string_view text, std::size_t at, bool parse_special,
                                       std::size_t& length) const {
  std::int32_t best = -1;
  std::int32_t node = 0;
  for (std::size_t k = at; k < text.size(); ++k) {
    const auto& children = trie.nodes[node].children;
    const char c = text[k];
    auto it = std::lower_bound(children.begin(), children.end(), c, [](const auto& p, char key) { return p.first < key; });
    if (it == children.end() || it->first != c) break;
    node = it->second;
    const std::int32_t token = trie.nodes[node].token;
    if (token < 0) continue;
    const AddedToken& t = tokens_[token];
    if (t.special && !parse_special) continue;
    if (t.single_word) {
      const bool space_before = at == 0 || is_space(text[at - 1]);
      const bool space_after = k + 1 == text.size() || is_space(text[k + 1]);
      if (!space_before || !space_after) continue;
    }
    best = token;
    length = k + 1 - at;
  }
  return best;
}

void AddedVocabulary::split(std::string_view text, bool parse_special, bool normalized_pass, std::vector<Section>& out) const {
  const Trie& trie = normalized_pass ? normalized_ : raw_;
  const std::size_t first = out.size();
  std::size_t start = 0;
  if (trie.nodes[0].children.empty()) {
    out.push_back({text, nullptr});
    return;
  }
  for (std::size_t i = 0; i < text.size();) {
    // performance-critical: runs over every byte of a corpus; most bytes start no token.
    if (!trie.starts[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    const std::int32_t token = match_at(trie, text, i, parse_special, length);
    if (token < 0) {
      ++i;
      continue;
    }
    if (i > start) out.push_back({text.substr(start, i - start), nullptr});
    out.push_back({text.substr(i, length), &tokens_[token]});
    i += length;
    start = i;
  }
  if (start < text.size()) out.push_back({text.substr(start), nullptr});
  // lstrip/rstrip tokens take the whitespace next to them with them.
  for (std::size_t k = first; k < out.size(); ++k) {
    if (out[k].token == nullptr) continue;
    if (out[k].token->lstrip && k > first && out[k - 1].token == nullptr) trim_end(out[k - 1].text);
    if (out[k].token->rstrip && k + 1 < out.size() && out[k + 1].token == nullptr) trim_start(out[k + 1].text);
  }
}

const AddedToken* AddedVocabulary::find(std::string_view content) const {
  for (const auto& t : tokens_) {
    if (t.content == content) return &t;
  }
  return nullptr;
}

}  // namespace ds::engine::tokenizer
