#pragma once
// `ds eval`: mean next-token cross-entropy and perplexity of a model over a token file, like
// llama.cpp's perplexity tool: deterministic, consecutive non-overlapping windows, no sampling.
#include <cstdint>
#include <functional>

namespace ds::engine::model {
class CausalLM;
}
namespace ds::engine::data {
class TokenFile;
}

namespace ds::engine::train {

struct EvalOptions {
  std::int64_t seq = 0;          ///< tokens per window; 0 = the model's context (max positions or sliding window)
  std::int64_t max_windows = 0;  ///< evaluate at most this many windows from the start; 0 = all full windows
  std::int64_t batch = 1;        ///< windows per forward pass (speed and memory only; the result is the same)
  /// Called after each forward pass with the windows done so far and the total (progress bars).
  std::function<void(std::int64_t done, std::int64_t total)> on_progress;
};

struct EvalResult {
  double mean_loss = 0.0;        ///< mean cross-entropy per scored token, in nats
  double perplexity = 0.0;       ///< exp(mean_loss)
  std::int64_t seq = 0;          ///< tokens per window used
  std::int64_t windows = 0;      ///< windows evaluated
  std::int64_t tokens = 0;       ///< predictions scored: windows * seq
  std::int64_t file_tokens = 0;  ///< tokens in the file
  double seconds = 0.0;          ///< wall time of the forward passes
  double tokens_per_s = 0.0;
};

/// Window i feeds tokens [i*seq, (i+1)*seq) and scores the prediction of each next token, so its
/// targets are tokens [i*seq + 1, (i+1)*seq + 1); windows share no inputs and every position
/// starts from an empty context at the window's start. The file holds (tokens - 1) / seq full
/// windows; the tail of fewer than seq targets after the last one is not scored. Losses are
/// computed per token in fp32 (fp64 for fp64 models) and summed in fp64, under NoGradGuard, on
/// the model's device. Throws UsageError for a bad seq/batch/max_windows (naming --seq, ...), a
/// file too short for one window, or a token id outside the model's vocabulary (naming the file
/// and the token's index).
EvalResult evaluate(model::CausalLM& model, const data::TokenFile& tokens, const EvalOptions& options = {});

}  // namespace ds::engine::train
