// Hugging Face tokenizer.json: added tokens -> normalizer -> pre-tokenizer -> BPE -> post-processor,
// and back through the decoder. The component files say which types of each are supported.
#include "engine/tokenizer/hf_tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "engine/tokenizer/added_vocabulary.hpp"
#include "engine/tokenizer/bpe_model.hpp"
#include "engine/tokenizer/decoder.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/normalizer.hpp"
#include "engine/tokenizer/post_processor.hpp"
#include "engine/tokenizer/pre_tokenizer.hpp"
#include "engine/tokenizer/tokenizer_json.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

// Well-known spellings, tried in order, for files whose template does not say.
constexpr std::string_view kBosNames[] = {"<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>"};
constexpr std::string_view kEosNames[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"};

const nlohmann::json& field_or_null(const nlohmann::json& obj, const char* name) {
  static const nlohmann::json null;
  const auto it = obj.find(name);
  return it == obj.end() ? null : *it;
}

class HfTokenizer final : public Tokenizer {
 public:
  /// `tables`: the model's vocab and merges when read apart from `root` (read_tokenizer_json).
  HfTokenizer(const nlohmann::json& root, const std::string& file, const BpeTables* tables);

  using Tokenizer::encode;
  std::string name() const override { return name_; }
  std::int64_t vocab_size() const override { return static_cast<std::int64_t>(id_to_token_.size()); }
  std::optional<std::uint32_t> eot_id() const override { return eos_; }
  std::optional<std::uint32_t> bos_id() const override { return bos_; }
  std::optional<std::uint32_t> eos_id() const override { return eos_; }
  void encode(std::string_view text, const EncodeOptions& options, std::vector<std::uint32_t>& out) const override;
  std::string decode(std::span<const std::uint32_t> ids) const override { return to_valid_utf8(decode_bytes(ids, false)); }
  std::string decode_raw(std::span<const std::uint32_t> ids) const override { return decode_bytes(ids, true); }
  std::optional<std::uint32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(std::uint32_t id) const override { return id < id_to_token_.size() ? id_to_token_[id] : ""; }
  bool is_special(std::uint32_t id) const override { return id < special_.size() && special_[id]; }

 private:
  void encode_section(std::string_view text, bool first, const EncodeOptions& options, std::vector<std::uint32_t>& out) const;
  std::string decode_bytes(std::span<const std::uint32_t> ids, bool raw) const;
  std::optional<std::uint32_t> first_known(std::span<const std::string_view> names) const;

  std::string name_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<AddedVocabulary> added_;
  PostProcessor post_;
  std::unique_ptr<Decoder> decoder_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> special_;
  std::optional<std::uint32_t> bos_, eos_;
};

std::unique_ptr<BpeModel> parse_model(const nlohmann::json& root, const JsonPath& root_at, const BpeTables* tables) {
  const JsonPath at = root_at.child("model");
  const auto* model = find_field(root, "model");
  if (model == nullptr) throw UsageError(format_error(at.where(), "missing", "", "an object with \"type\": \"BPE\""));
  require_object(*model, at);
  // Files written before the type field existed are BPE when they have merges.
  const std::string type = string_field(*model, "type", at, tables || model->contains("merges") ? "BPE" : "");
  if (type != "BPE") throw_unsupported(at.child("type"), "model", type, {"BPE"});
  return std::make_unique<BpeModel>(*model, at, tables);
}

// The sidecar of a token file records the absolute path, so it still says which file it was when
// read from another directory.
HfTokenizer::HfTokenizer(const nlohmann::json& root, const std::string& file, const BpeTables* tables)
    : name_("hf:" + std::filesystem::absolute(file).lexically_normal().string()) {
  const JsonPath at{file, ""};
  require_object(root, at);
  model_ = parse_model(root, at, tables);
  normalizer_ = parse_normalizer(field_or_null(root, "normalizer"), at.child("normalizer"));
  pre_tokenizer_ = parse_pre_tokenizer(field_or_null(root, "pre_tokenizer"), at.child("pre_tokenizer"));
  post_ = parse_post_processor(field_or_null(root, "post_processor"), at.child("post_processor"));
  decoder_ = parse_decoder(field_or_null(root, "decoder"), at.child("decoder"));
  added_ = std::make_unique<AddedVocabulary>(find_field(root, "added_tokens"), at.child("added_tokens"), normalizer_.get());

  std::uint32_t size = 0;
  for (const auto& [token, id] : model_->vocab()) size = std::max(size, id + 1);
  for (const auto& t : added_->tokens()) size = std::max(size, t.id + 1);
  id_to_token_.resize(size);
  special_.resize(size);
  for (const auto& [token, id] : model_->vocab()) id_to_token_[id] = token;
  for (const auto& t : added_->tokens()) {
    id_to_token_[t.id] = t.content;
    special_[t.id] = t.special;
  }
  bos_ = post_.prefix.empty() ? first_known(kBosNames) : std::optional(post_.prefix.front());
  eos_ = first_known(kEosNames);
}

std::optional<std::uint32_t> HfTokenizer::first_known(std::span<const std::string_view> names) const {
  for (auto name : names) {
    if (auto id = token_to_id(name)) return id;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> HfTokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* t = added_->find(token)) return t->id;
  const auto it = model_->vocab().find(token);
  if (it == model_->vocab().end()) return std::nullopt;
  return it->second;
}

void HfTokenizer::encode_section(std::string_view text, bool first, const EncodeOptions& options,
                                 std::vector<std::uint32_t>& out) const {
  std::string normalized_text;
  if (normalizer_) {
    normalized_text = normalizer_->normalize(std::string(text));
    text = normalized_text;
  }
  if (text.empty()) return;
  std::vector<Section> parts;
  added_->split(text, options.parse_special, true, parts);
  std::vector<std::string> pieces;
  for (std::size_t j = 0; j < parts.size(); ++j) {
    if (parts[j].token != nullptr) {
      out.push_back(parts[j].token->id);
      continue;
    }
    if (parts[j].text.empty()) continue;
    pieces.assign(1, std::string(parts[j].text));
    if (pre_tokenizer_) pre_tokenizer_->split(pieces, first && j == 0);
    for (const auto& piece : pieces) model_->encode_word(piece, out);
  }
}

void HfTokenizer::encode(std::string_view text, const EncodeOptions& options, std::vector<std::uint32_t>& out) const {
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = to_valid_utf8(text);
    text = repaired;
  }
  if (options.add_special_tokens) out.insert(out.end(), post_.prefix.begin(), post_.prefix.end());
  std::vector<Section> sections;
  added_->split(text, options.parse_special, false, sections);
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].token != nullptr) out.push_back(sections[i].token->id);
    else if (!sections[i].text.empty()) encode_section(sections[i].text, i == 0, options, out);
  }
  if (options.add_special_tokens) out.insert(out.end(), post_.suffix.begin(), post_.suffix.end());
}

std::string HfTokenizer::decode_bytes(std::span<const std::uint32_t> ids, bool raw) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (std::uint32_t id : ids) {
    if (id < id_to_token_.size()) tokens.push_back(id_to_token_[id]);
  }
  if (!decoder_) {
    // No decoder: the Rust crate joins the tokens with spaces.
    std::string text;
    for (const auto& t : tokens) text += (text.empty() ? "" : " ") + t;
    return text;
  }
  decoder_->decode_chain(tokens, raw);
  std::string text;
  for (const auto& t : tokens) text += t;
  return text;
}

}  // namespace

std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view json_text, const std::string& file) {
  if (auto fast = read_tokenizer_json(json_text)) {
    return std::make_unique<HfTokenizer>(fast->root, file, &*fast->tables);
  }
  // Not valid JSON, not BPE-shaped, or irregular tables: the whole tree, which names the problem.
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(format_error(file, "not valid JSON", e.what(), "a Hugging Face tokenizer.json"));
  }
  return std::make_unique<HfTokenizer>(root, file, nullptr);
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& file_or_dir) {
  std::error_code ec;
  std::filesystem::path file = file_or_dir;
  if (std::filesystem::is_directory(file_or_dir, ec)) {
    file = file_or_dir / "tokenizer.json";
    if (!std::filesystem::exists(file, ec)) {
      throw UsageError(format_error(file_or_dir.string(), "no tokenizer.json in this directory", "", "",
                                    "pass the model directory holding tokenizer.json, or the file itself"));
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw UsageError(format_error(file.string(), "cannot read the tokenizer", std::filesystem::exists(file, ec) ? "permission denied" : "no such file",
                                  "a tokenizer.json file or a model directory holding one"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_tokenizer_json(buffer.str(), file.string());
}

}  // namespace ds::engine::tokenizer
