#pragma once
// Activation checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory cost")
// for LibTorch 1.13 C++, which has no torch.utils.checkpoint: a custom autograd Function runs
// `fn` without recording a graph, keeps only its inputs, and in backward runs `fn` again with
// gradients on and back-propagates through that recomputation (the "reentrant" variant).
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace ds::engine::model {

/// The function whose activations are dropped. It must be deterministic (ds models use no
/// dropout), since backward recomputes it; parameters it reads get their gradients in backward.
using CheckpointFn = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

/// fn(inputs) with activations recomputed in backward. When grad mode is off or no input
/// requires grad, simply returns fn(inputs).
at::Tensor checkpoint(CheckpointFn fn, const std::vector<at::Tensor>& inputs);

}  // namespace ds::engine::model
