#include "engine/tokenizer/tokenizer_json.hpp"

namespace ds::engine::tokenizer {
namespace {

using json = nlohmann::json;

// SAX events -> a JSON tree, except that the values of model.vocab and model.merges go into
// BpeTables. Returning false from an event stops the parse: the caller falls back to the tree.
class Reader : public nlohmann::json_sax<json> {
 public:
  enum class Mode { kTree, kVocab, kMerges, kMergePair };

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) {
      if (v < 0 || v > 0xFFFFFFFFll) return false;
      tables_.vocab.emplace_back(std::move(token_), static_cast<std::uint32_t>(v));
      return true;
    }
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) {
      if (v > 0xFFFFFFFFull) return false;
      tables_.vocab.emplace_back(std::move(token_), static_cast<std::uint32_t>(v));
      return true;
    }
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) {
      const auto space = v.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= v.size() || v.find(' ', space + 1) != std::string::npos) {
        return false;
      }
      tables_.merges.emplace_back(v.substr(0, space), v.substr(space + 1));
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() == 2) return false;
      pair_.push_back(std::move(v));
      return true;
    }
    return value(json(std::move(v)));
  }
  bool binary(binary_t&) override { return false; }

  bool start_object(std::size_t) override {
    if (mode_ != Mode::kTree) return false;
    if (stack_.size() == 2 && keys_[1] == "model" && key_ == "vocab") {
      mode_ = Mode::kVocab;
      have_vocab_ = true;
      tables_.vocab.reserve(kTypicalVocab);  // growing by doubling would move every string ~17 times
      return true;
    }
    return open(json::object());
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::kVocab) token_ = std::move(k);
    else key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kTree;
      return true;
    }
    return close();
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kTree) return false;
    if (stack_.size() == 2 && keys_[1] == "model" && key_ == "merges") {
      mode_ = Mode::kMerges;
      have_merges_ = true;
      tables_.merges.reserve(2 * kTypicalVocab);
      return true;
    }
    return open(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return false;
      tables_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kTree;
      return true;
    }
    return close();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

  std::optional<TokenizerJson> result() {
    if (!have_vocab_ || !have_merges_) return std::nullopt;  // not BPE-shaped: the tree path decides
    return TokenizerJson{std::move(root_), std::move(tables_)};
  }

 private:
  // Sizes of today's large vocabularies (128k-152k tokens); large allocations are mapped lazily,
  // so a small file does not pay for the reserve.
  static constexpr std::size_t kTypicalVocab = 1 << 17;

  // Puts `v` where the parse is: the root, the next element of an array, or the pending key.
  json* place(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }
  bool value(json v) {
    if (mode_ != Mode::kTree) return false;  // a value where a table expects something else
    place(std::move(v));
    return true;
  }
  bool open(json container) {
    const bool in_object = !stack_.empty() && stack_.back()->is_object();
    keys_.push_back(in_object ? key_ : std::string());
    stack_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }

  json root_;
  std::vector<json*> stack_;       ///< open containers; pointers stay valid (children of std::map/vector
                                   ///< nodes are not moved while a deeper container is open)
  std::vector<std::string> keys_;  ///< the key each open container has in its parent ("" in arrays)
  std::string key_;                ///< the key of the next value in the innermost object
  std::string token_;              ///< the vocabulary token whose id comes next
  std::vector<std::string> pair_;  ///< a ["a", "b"] merge being read
  Mode mode_ = Mode::kTree;
  bool have_vocab_ = false, have_merges_ = false;
  BpeTables tables_;
};

}  // namespace

std::optional<TokenizerJson> read_tokenizer_json(std::string_view text) {
  Reader reader;
  if (!json::sax_parse(text, &reader)) return std::nullopt;
  return reader.result();
}

}  // namespace ds::engine::tokenizer
