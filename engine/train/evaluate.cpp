#include "engine/train/evaluate.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "engine/data/token_file.hpp"
#include "engine/model/causal_lm.hpp"

namespace ds::engine::train {
namespace {

/// The longest window the model attends over in one piece (what CausalLM::forward accepts).
std::int64_t model_context(const estimators::ModelSpec& spec) {
  const bool windowed = spec.sliding_window > 0 && spec.sliding_window < spec.max_seq;
  return windowed ? spec.sliding_window : spec.max_seq;
}

void check_options(const EvalOptions& o, std::int64_t seq, const estimators::ModelSpec& spec) {
  const std::int64_t context = model_context(spec);
  if (seq < 1 || seq > context) {
    throw UsageError(format_error("--seq", seq < 1 ? "must be positive" : "longer than the model's context",
                                  std::to_string(seq), "1 to " + std::to_string(context) + " (" + spec.name + ")"));
  }
  if (o.batch < 1) throw UsageError(format_error("--batch", "must be positive", std::to_string(o.batch), ">= 1"));
  if (o.max_windows < 0) {
    throw UsageError(format_error("--max-windows", "must not be negative", std::to_string(o.max_windows),
                                  ">= 0 (0 = every window)"));
  }
}

/// Throws UsageError naming the first id in `ids` (read from `offset` of the file) >= vocab.
void check_ids(const torch::Tensor& ids, std::int64_t vocab, std::int64_t offset, std::int64_t stride,
               const data::TokenFile& file) {
  if (ids.max().item<std::int64_t>() < vocab) return;
  const std::int64_t* p = ids.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < ids.numel(); ++i) {
    if (p[i] < vocab) continue;
    // Rows overlap by one token in the file: row r starts at offset + r * stride.
    const std::int64_t index = offset + (i / ids.size(1)) * stride + i % ids.size(1);
    throw UsageError(format_error(file.info().path.string(),
                                  "token " + std::to_string(p[i]) + " at index " + std::to_string(index) +
                                      " is outside the model's vocabulary",
                                  std::to_string(p[i]), "ids below " + std::to_string(vocab),
                                  "the file was tokenized for another model"));
  }
}

}  // namespace

EvalResult evaluate(model::CausalLM& model, const data::TokenFile& tokens, const EvalOptions& options) {
  const estimators::ModelSpec& spec = model.spec();
  EvalResult r;
  r.seq = options.seq != 0 ? options.seq : model_context(spec);
  check_options(options, r.seq, spec);
  r.file_tokens = static_cast<std::int64_t>(tokens.size());
  const std::int64_t full = r.file_tokens > 0 ? (r.file_tokens - 1) / r.seq : 0;
  if (full == 0) {
    throw UsageError(format_error(tokens.info().path.string(), "too short for one window of --seq " + std::to_string(r.seq),
                                  std::to_string(r.file_tokens) + " tokens",
                                  "at least " + std::to_string(r.seq + 1) + " tokens (seq + 1 for the shifted targets)",
                                  "pass a smaller --seq"));
  }
  r.windows = options.max_windows > 0 ? std::min(options.max_windows, full) : full;
  r.tokens = r.windows * r.seq;

  torch::NoGradGuard no_grad;
  const torch::Device device = model.parameters().front().device();
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0.0;
  for (std::int64_t first = 0; first < r.windows; first += options.batch) {
    const std::int64_t rows = std::min(options.batch, r.windows - first);
    // Each row holds one window's inputs and, shifted by one, its targets: seq + 1 tokens.
    torch::Tensor ids = torch::empty({rows, r.seq + 1}, torch::kLong);
    for (std::int64_t j = 0; j < rows; ++j) {
      tokens.read(static_cast<std::size_t>((first + j) * r.seq), static_cast<std::size_t>(r.seq + 1),
                  ids.data_ptr<std::int64_t>() + j * (r.seq + 1));
    }
    check_ids(ids, spec.vocab, first * r.seq, r.seq, tokens);
    ids = ids.to(device);
    torch::Tensor logits = model.forward(ids.narrow(1, 0, r.seq));
    torch::Tensor per_token = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}).to(model::compute_dtype(logits.scalar_type())),
        ids.narrow(1, 1, r.seq).reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    loss_sum += per_token.to(torch::kDouble).sum().item<double>();
    if (options.on_progress) options.on_progress(first + rows, r.windows);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.mean_loss = loss_sum / static_cast<double>(r.tokens);
  r.perplexity = std::exp(r.mean_loss);
  r.tokens_per_s = r.seconds > 0 ? static_cast<double>(r.tokens) / r.seconds : 0.0;
  return r;
}

}  // namespace ds::engine::train
