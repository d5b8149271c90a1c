#include "engine/data/token_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/suggest.hpp"
#include "engine/io/file_io.hpp"

namespace ds::engine::data {
namespace {

static_assert(std::endian::native == std::endian::little, "token files are little-endian; add byte swapping");

std::string format_name(TokenFileFormat format) { return format == TokenFileFormat::kLlmc ? "llm.c" : "raw"; }

struct LlmcHeader {
  std::int32_t magic = 0;
  std::int32_t version = 0;
  std::int64_t count = 0;
};

bool is_llmc_magic(std::int32_t magic) { return magic == kLlmcMagicGpt2 || magic == kLlmcMagicLlama3; }

/// Checks an llm.c header against the file size; returns the dtype it declares.
TokenDtype check_llmc_header(const LlmcHeader& h, std::size_t file_bytes, const std::string& where) {
  const bool gpt2 = h.magic == kLlmcMagicGpt2;
  const std::int32_t want = gpt2 ? kLlmcVersionGpt2 : kLlmcVersionLlama3;
  if (h.version != want) {
    throw UsageError(format_error(where, "unsupported llm.c header version for magic " + std::to_string(h.magic),
                                  std::to_string(h.version), std::to_string(want)));
  }
  TokenDtype dtype = gpt2 ? TokenDtype::kUint16 : TokenDtype::kUint32;
  std::size_t payload = file_bytes - kLlmcHeaderBytes;
  if (h.count < 0 || payload != static_cast<std::size_t>(h.count) * dtype_bytes(dtype)) {
    throw UsageError(format_error(where, "llm.c header token count does not match the file size",
                                  std::to_string(h.count) + " tokens in the header, " + std::to_string(payload) +
                                      " bytes after it",
                                  std::to_string(payload / dtype_bytes(dtype)) + " " + to_string(dtype) + " tokens",
                                  "the file is truncated or was not written by llm.c/ds"));
  }
  return dtype;
}

std::optional<TokenFileMeta> read_sidecar(const std::filesystem::path& path) {
  auto side = sidecar_path(path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(side, ec)) return std::nullopt;
  return parse_sidecar(read_file(side), side.string());
}

}  // namespace

std::size_t dtype_bytes(TokenDtype dtype) { return dtype == TokenDtype::kUint16 ? 2 : 4; }

std::string to_string(TokenDtype dtype) { return dtype == TokenDtype::kUint16 ? "uint16" : "uint32"; }

TokenDtype parse_token_dtype(std::string_view text, std::string_view where) {
  if (text == "uint16" || text == "u16") return TokenDtype::kUint16;
  if (text == "uint32" || text == "u32") return TokenDtype::kUint32;
  throw UsageError(format_error(std::string(where), "unknown token dtype", "'" + std::string(text) + "'",
                                "uint16 or uint32") +
                   did_you_mean(text, {"uint16", "uint32"}));
}

TokenDtype dtype_for_vocab(std::int64_t vocab_size) {
  return vocab_size <= 65536 ? TokenDtype::kUint16 : TokenDtype::kUint32;
}

std::filesystem::path sidecar_path(const std::filesystem::path& token_file) {
  return std::filesystem::path(token_file.string() + ".json");
}

std::string sidecar_json(const TokenFileMeta& meta) {
  nlohmann::ordered_json j;
  j["format"] = format_name(meta.format);
  j["dtype"] = to_string(meta.dtype);
  j["num_tokens"] = meta.num_tokens;
  j["vocab_size"] = meta.vocab_size;
  j["tokenizer"] = meta.tokenizer;
  j["eot_id"] = meta.eot_id ? nlohmann::ordered_json(*meta.eot_id) : nlohmann::ordered_json(nullptr);
  return j.dump(2) + "\n";
}

TokenFileMeta parse_sidecar(std::string_view text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw UsageError(format_error(where, "not a JSON object", "", "a token file sidecar written by `ds data prepare`"));
  }
  auto field = [&](const char* key) -> const nlohmann::json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  auto need_int = [&](const char* key, const nlohmann::json* v) {
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0) {
      throw UsageError(format_error(where + ": " + key, "must be a non-negative integer", v->dump()));
    }
    return v->get<std::int64_t>();
  };
  TokenFileMeta meta;
  const auto* dtype = field("dtype");
  if (dtype == nullptr || !dtype->is_string()) {
    throw UsageError(format_error(where + ": dtype", "missing or not a string", "", "\"uint16\" or \"uint32\""));
  }
  meta.dtype = parse_token_dtype(dtype->get<std::string>(), where + ": dtype");
  if (const auto* f = field("format")) {
    std::string s = f->is_string() ? f->get<std::string>() : f->dump();
    if (s != "raw" && s != "llm.c") {
      throw UsageError(format_error(where + ": format", "unknown format", "'" + s + "'", "\"raw\" or \"llm.c\""));
    }
    meta.format = s == "raw" ? TokenFileFormat::kRaw : TokenFileFormat::kLlmc;
  }
  if (const auto* v = field("num_tokens")) meta.num_tokens = need_int("num_tokens", v);
  if (const auto* v = field("vocab_size")) meta.vocab_size = need_int("vocab_size", v);
  if (const auto* v = field("eot_id")) meta.eot_id = need_int("eot_id", v);
  if (const auto* v = field("tokenizer"); v != nullptr && v->is_string()) meta.tokenizer = v->get<std::string>();
  return meta;
}

TokenFile TokenFile::open(const std::filesystem::path& path, const TokenFileOptions& options) {
  const std::string where = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw UsageError(format_error(where, "token file not found", "", "",
                                  "run `ds data prepare` to make one from text"));
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UsageError(format_error(where, "not a regular file", "", "a token file (.bin)"));
  }
  TokenFile file;
  file.map_ = io::MappedFile::open(path);
  auto& info = file.info_;
  info.path = path;
  info.file_bytes = file.map_->size();
  info.meta = read_sidecar(path);
  if (info.file_bytes == 0) throw UsageError(format_error(where, "token file is empty", "0 bytes"));
  const unsigned char* bytes = file.map_->data();
  const bool sidecar_says_raw = info.meta && info.meta->format == TokenFileFormat::kRaw;
  LlmcHeader header;
  if (info.file_bytes >= kLlmcHeaderBytes) {
    std::int32_t ints[3];
    std::memcpy(ints, bytes, sizeof ints);
    header = {ints[0], ints[1], ints[2]};
  }
  if (!sidecar_says_raw && is_llmc_magic(header.magic)) {
    info.format = TokenFileFormat::kLlmc;
    info.dtype = check_llmc_header(header, info.file_bytes, where);
    info.header_bytes = kLlmcHeaderBytes;
  } else {
    info.format = TokenFileFormat::kRaw;
    info.dtype = info.meta ? info.meta->dtype : options.dtype.value_or(TokenDtype::kUint16);
  }
  if (options.dtype && *options.dtype != info.dtype) {
    throw UsageError(format_error(where, "token dtype does not match the file", to_string(*options.dtype) + " asked for",
                                  to_string(info.dtype) + " as its " +
                                      (info.format == TokenFileFormat::kLlmc ? "llm.c header" : "sidecar") + " says"));
  }
  std::size_t payload = info.file_bytes - info.header_bytes;
  if (payload % dtype_bytes(info.dtype) != 0) {
    throw UsageError(format_error(where, "file size is not a multiple of the token size",
                                  std::to_string(payload) + " bytes", "a multiple of " +
                                      std::to_string(dtype_bytes(info.dtype)) + " (" + to_string(info.dtype) + ")",
                                  "pass the right --dtype, or the file is truncated"));
  }
  info.num_tokens = payload / dtype_bytes(info.dtype);
  if (info.num_tokens == 0) throw UsageError(format_error(where, "token file holds no tokens", "a header only"));
  file.tokens_ = bytes + info.header_bytes;
  if (options.check_vocab_size > 0) file.check_vocab(options.check_vocab_size);
  return file;
}

std::uint32_t TokenFile::at(std::size_t index) const {
  std::int64_t value = 0;
  read(index, 1, &value);
  return static_cast<std::uint32_t>(value);
}

void TokenFile::read(std::size_t offset, std::size_t count, std::int64_t* out) const {
  if (offset > info_.num_tokens || count > info_.num_tokens - offset) {
    throw RuntimeError(format_error(info_.path.string(), "token range out of bounds",
                                    "[" + std::to_string(offset) + ", " + std::to_string(offset + count) + ")",
                                    "within [0, " + std::to_string(info_.num_tokens) + ")"));
  }
  // memcpy per element: the mapping is only guaranteed byte-aligned after a raw header.
  if (info_.dtype == TokenDtype::kUint16) {
    const unsigned char* p = tokens_ + offset * 2;
    for (std::size_t i = 0; i < count; ++i) {
      std::uint16_t v;
      std::memcpy(&v, p + i * 2, 2);
      out[i] = v;
    }
  } else {
    const unsigned char* p = tokens_ + offset * 4;
    for (std::size_t i = 0; i < count; ++i) {
      std::uint32_t v;
      std::memcpy(&v, p + i * 4, 4);
      out[i] = v;
    }
  }
}

void TokenFile::check_vocab(std::int64_t vocab_size) const {
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<std::int64_t> buf(kChunk);
  for (std::size_t start = 0; start < info_.num_tokens; start += kChunk) {
    std::size_t n = std::min(kChunk, info_.num_tokens - start);
    read(start, n, buf.data());
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] >= vocab_size) {
        throw UsageError(format_error(
            info_.path.string(), "token id at index " + std::to_string(start + i) + " is outside the vocabulary",
            std::to_string(buf[i]), "ids below " + std::to_string(vocab_size),
            "the file was tokenized for a different model; re-run `ds data prepare` with its tokenizer"));
      }
    }
  }
}

}  // namespace ds::engine::data
