#pragma once
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace ds::engine::tokenizer {

struct JsonPath;

/// A tokenizer.json decoder: turns the vocabulary strings of ids back into text, one step of a
/// chain at a time (the strings may hold raw bytes between steps; the caller makes the final text
/// valid UTF-8).
class Decoder {
 public:
  virtual ~Decoder() = default;
  /// Rewrites `tokens` in place. `raw_bytes`: ByteFallback passes undecodable bytes through instead
  /// of replacing them with U+FFFD, so StreamDecoder can tell an unfinished character from a bad one.
  virtual void decode_chain(std::vector<std::string>& tokens, bool raw_bytes) const = 0;
};

/// The decoder described at `at`; nullptr for null. Supported: ByteLevel, Metaspace, Replace,
/// ByteFallback, Fuse, Strip and Sequence. Anything else is a UsageError naming the key.
std::unique_ptr<Decoder> parse_decoder(const nlohmann::json& value, const JsonPath& at);

}  // namespace ds::engine::tokenizer
