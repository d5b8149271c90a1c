// Hand-written tokenizer.json documents small enough to reason about id by id, shared by the
// tokenizer suite's tests.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "engine/tokenizer/byte_level.hpp"

namespace ds::engine::tokenizer::test {

/// Byte-level BPE like GPT-2/Llama 3: ids 0-255 are the byte characters (byte b is id b), then
/// 256 "he", 257 "ll", 258 "hell", 259 "hello", 260 "Ġw"; added tokens 261 "<|end|>" (special)
/// and 262 "[NOTE]" (not special). `pair_merges`: merges as ["a", "b"] instead of "a b".
inline nlohmann::json byte_level_json(bool pair_merges = false) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[std::string(byte_to_unicode(static_cast<unsigned char>(b)))] = b;
  const char* merged[][3] = {{"h", "e", "he"}, {"l", "l", "ll"}, {"he", "ll", "hell"}, {"hell", "o", "hello"}, {"Ġ", "w", "Ġw"}};
  nlohmann::json merges = nlohmann::json::array();
  int id = 256;
  for (const auto& m : merged) {
    vocab[m[2]] = id++;
    if (pair_merges) merges.push_back({m[0], m[1]});
    else merges.push_back(std::string(m[0]) + " " + m[1]);
  }
  return {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 261}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}},
        {{"id", 262}, {"content", "[NOTE]"}, {"special", false}, {"normalized", false}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
}

/// SentencePiece-style BPE like Llama 2: "<unk>" 0, "<s>" 1, "</s>" 2, byte tokens <0x00>..<0xFF>
/// as 3..258, then 259 "▁", 260 "h", 261 "i", 262 "▁h", 263 "▁hi"; spaces become ▁ in the
/// normalizer, unknown characters fall back to bytes, and the template adds <s>.
inline nlohmann::json byte_fallback_json() {
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  vocab["▁"] = 259;
  vocab["h"] = 260;
  vocab["i"] = 261;
  vocab["▁h"] = 262;
  vocab["▁hi"] = 263;
  return {
      {"added_tokens",
       {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
        {{"id", 1}, {"content", "<s>"}, {"special", true}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "▁"}}, {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}}}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"}, {"unk_token", "<unk>"}, {"fuse_unk", true}, {"byte_fallback", true}, {"vocab", vocab},
        {"merges", {"▁ h", "▁h i"}}}},
  };
}

}  // namespace ds::engine::tokenizer::test
