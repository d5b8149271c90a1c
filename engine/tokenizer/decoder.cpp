#include "engine/tokenizer/decoder.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/tokenizer/byte_level.hpp"
#include "engine/tokenizer/json_fields.hpp"
#include "engine/tokenizer/regex.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace ds::engine::tokenizer {
namespace {

class ByteLevelDecoder final : public Decoder {
 public:
  // All tokens become one string of bytes, as in the Rust crate (the caller validates UTF-8 once).
  void decode_chain(std::vector<std::string>& tokens, bool) const override {
    std::string bytes;
    for (const auto& t : tokens) byte_level_decode(t, bytes);
    tokens.assign(1, std::move(bytes));
  }
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first) : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens, bool) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (std::size_t at = 0; at < t.size();) {
        if (t.compare(at, replacement_.size(), replacement_) == 0) {
          out.push_back(' ');
          at += replacement_.size();
        } else {
          out.push_back(t[at++]);
        }
      }
      // The space the pre-tokenizer put before the first word is not part of the text.
      if (i == 0 && strip_first_ && !out.empty() && out.front() == ' ') out.erase(0, 1);
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens, bool) const override {
    for (auto& t : tokens) t = pattern_.replace_all(t, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// "<0x41>" -> 0x41; -1 for anything else.
int byte_token_value(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int value = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = t[k];
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, bool raw_bytes) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;  // consecutive byte tokens
    std::size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      // Bytes that are not valid UTF-8 become one U+FFFD per byte token (the Rust crate's rule).
      if (raw_bytes || to_valid_utf8(pending) == pending) {
        out.push_back(std::move(pending));
      } else {
        for (std::size_t k = 0; k < pending_count; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (auto& t : tokens) {
      const int byte = byte_token_value(t);
      if (byte >= 0) {
        pending.push_back(static_cast<char>(byte));
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, bool) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, std::size_t start, std::size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens, bool) const override {
    const std::size_t n = content_.size();
    for (auto& t : tokens) {
      std::size_t begin = 0, end = t.size();
      for (std::size_t k = 0; k < start_ && end - begin >= n && t.compare(begin, n, content_) == 0; ++k) begin += n;
      for (std::size_t k = 0; k < stop_ && end - begin >= n && t.compare(end - n, n, content_) == 0; ++k) end -= n;
      t = t.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;  ///< one character
  std::size_t start_, stop_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens, bool raw_bytes) const override {
    for (const auto& step : steps_) step->decode_chain(tokens, raw_bytes);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

std::size_t count_field(const nlohmann::json& value, const char* name, const JsonPath& at) {
  const auto* v = find_field(value, name);
  if (v == nullptr) return 0;
  const auto count = as_token_id(*v);  // any integer >= 0 will do
  if (!count) throw UsageError(format_error(at.child(name).where(), "wrong type", v->dump(), "a count >= 0"));
  return *count;
}

std::unique_ptr<Decoder> parse_metaspace(const nlohmann::json& value, const JsonPath& at) {
  bool strip_first = bool_field(value, "add_prefix_space", at, true);
  if (find_field(value, "prepend_scheme") != nullptr) strip_first = string_field(value, "prepend_scheme", at, "always") != "never";
  return std::make_unique<MetaspaceDecoder>(string_field(value, "replacement", at, "\xE2\x96\x81"), strip_first);
}

const std::vector<std::string> kSupported = {"ByteFallback", "ByteLevel", "Fuse", "Metaspace", "Replace", "Sequence", "Strip"};

}  // namespace

std::unique_ptr<Decoder> parse_decoder(const nlohmann::json& value, const JsonPath& at) {
  if (value.is_null()) return nullptr;
  require_object(value, at);
  const std::string type = required_string(value, "type", at);
  if (type == "Sequence") {
    return std::make_unique<SequenceDecoder>(parse_steps<Decoder>(value, "decoders", at, parse_decoder));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") return parse_metaspace(value, at);
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(Pattern::field(value, "pattern", at), string_field(value, "content", at, ""));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const std::string content = required_string(value, "content", at);
    if (content.empty()) throw UsageError(format_error(at.child("content").where(), "empty", "", "one character"));
    return std::make_unique<StripDecoder>(content, count_field(value, "start", at), count_field(value, "stop", at));
  }
  throw_unsupported(at.child("type"), "decoder", type, kSupported);
}

}  // namespace ds::engine::tokenizer
