#pragma once
// The small layers transformer blocks are made of, each holding its parameters under the
// names Hugging Face uses (`weight`, `bias`) and in HF's shapes.
#include <torch/nn/module.h>

#include <cstdint>

namespace ds::engine::model {

/// One tensor in, one tensor out: norms and feed-forward layers, so a block can hold either
/// variant behind one pointer (and a Mixtral mixture-of-experts layer later).
class UnaryModule : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

/// nn.Linear: y = x W^T + b, weight [out, in] (Llama's q_proj, gate_proj, lm_head, ...).
class Linear : public UnaryModule {
 public:
  Linear(std::int64_t in, std::int64_t out, bool bias);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::Tensor weight;
  torch::Tensor bias;  ///< undefined without bias
};

/// GPT-2's Conv1D (transformers.pytorch_utils.Conv1D): y = x W + b, weight [in, out].
class Conv1D : public UnaryModule {
 public:
  Conv1D(std::int64_t in, std::int64_t out, bool bias);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::Tensor weight;
  torch::Tensor bias;
};

/// LayerNorm over the last dimension with weight and bias (GPT-2's ln_1, ln_2, ln_f).
class LayerNorm : public UnaryModule {
 public:
  LayerNorm(std::int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::Tensor weight;
  torch::Tensor bias;

 private:
  double eps_;
};

/// RMSNorm (Zhang & Sennrich 2019) as in HF LlamaRMSNorm: normalise in fp32,
/// x / sqrt(mean(x^2) + eps), cast back to the input dtype, then scale by weight.
class RmsNorm : public UnaryModule {
 public:
  RmsNorm(std::int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::Tensor weight;

 private:
  double eps_;
};

/// nn.Embedding: rows of weight [num, dim] looked up by id (wte, wpe, embed_tokens).
class Embedding : public torch::nn::Module {
 public:
  Embedding(std::int64_t num, std::int64_t dim);
  torch::Tensor forward(const torch::Tensor& ids);

  torch::Tensor weight;
};

/// While one is alive on its thread, the layers built there get placeholder parameters: the
/// right shape, dtype and device, backed by one element (every stride 0), so a model costs no
/// memory to build. ZeRO-3 builds its model so (DeepSpeed's zero.Init) and fills each rank's
/// partition from initial_values() one tensor at a time: no rank ever holds the whole model.
class PlaceholderParameters {
 public:
  explicit PlaceholderParameters(const torch::TensorOptions& options);
  ~PlaceholderParameters();
  PlaceholderParameters(const PlaceholderParameters&) = delete;
  PlaceholderParameters& operator=(const PlaceholderParameters&) = delete;

 private:
  const torch::TensorOptions* previous_;
  torch::TensorOptions options_;
};

/// A new parameter of `shape`: uninitialised fp32 on the CPU, or a placeholder (above).
torch::Tensor new_parameter(at::IntArrayRef shape);
/// True for a placeholder parameter (several elements, one element of storage).
bool is_placeholder(const torch::Tensor& t);

/// The dtype norms, softmax and rotary tables compute in: fp32 for fp32/bf16/fp16 models,
/// fp64 for fp64 models (used by the reference tests).
torch::ScalarType compute_dtype(torch::ScalarType dtype);

}  // namespace ds::engine::model
