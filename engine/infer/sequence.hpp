#pragma once
// One request inside the engine: its tokens, how many of them are in the KV cache, its blocks,
// and the state that turns sampled ids into the text updates its caller reads.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/infer/sampler.hpp"
#include "engine/serve/generation.hpp"
#include "engine/tokenizer/stream_decoder.hpp"

namespace ds::engine::infer {

struct Sequence {
  std::uint64_t id = 0;                    ///< arrival order: lower = older
  std::vector<std::uint32_t> tokens;       ///< prompt, then generated
  std::int64_t prompt_tokens = 0;
  std::int64_t computed = 0;               ///< leading tokens whose keys/values are cached
  std::vector<std::int32_t> blocks;        ///< block table
  serve::SamplingParams sampling;
  std::shared_ptr<serve::RequestStream> stream;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<tokenizer::StreamDecoder> decoder;
  std::string text;                        ///< generated text so far
  std::size_t sent = 0;                    ///< bytes of `text` already sent
  double submitted_s = 0.0;                ///< steady-clock seconds at submit
  bool first_token_sent = false;

  std::int64_t generated() const { return static_cast<std::int64_t>(tokens.size()) - prompt_tokens; }
  /// Tokens still to run through the model before the next sample.
  std::int64_t pending() const { return static_cast<std::int64_t>(tokens.size()) - computed; }
};

}  // namespace ds::engine::infer
