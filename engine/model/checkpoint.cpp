#include "engine/model/checkpoint.hpp"

#include <torch/torch.h>

#include <utility>

namespace ds::engine::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Keeps the function alive inside the autograd context until backward has run.
struct FnHolder : torch::CustomClassHolder {
  explicit FnHolder(CheckpointFn f) : fn(std::move(f)) {}
  CheckpointFn fn;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs, c10::intrusive_ptr<FnHolder> holder) {
    // Function::apply already runs forward with grad mode off: nothing inside fn is recorded.
    ctx->save_for_backward(inputs.vec());
    at::Tensor out = holder->fn(inputs.vec());
    ctx->saved_data["fn"] = c10::IValue::make_capsule(std::move(holder));
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    c10::intrusive_ptr<torch::CustomClassHolder> capsule = ctx->saved_data["fn"].toCapsule();
    auto holder = c10::intrusive_ptr<FnHolder>::reclaim(static_cast<FnHolder*>(capsule.release()));
    std::vector<at::Tensor> inputs;
    for (const auto& saved : ctx->get_saved_variables()) {
      inputs.push_back(saved.detach().requires_grad_(saved.requires_grad()));
    }
    at::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = holder->fn(inputs);
    }
    // Back-propagate through the recomputed graph: parameter gradients accumulate into their
    // .grad as in a normal backward, input gradients are handed back to the outer graph.
    if (out.requires_grad()) torch::autograd::backward({out}, {grad_outputs[0]});
    variable_list grads;
    for (const auto& input : inputs) grads.push_back(input.requires_grad() ? input.grad() : at::Tensor());
    grads.emplace_back();  // the holder is not a tensor
    return grads;
  }
};

}  // namespace

at::Tensor checkpoint(CheckpointFn fn, const std::vector<at::Tensor>& inputs) {
  bool any_grad = false;
  for (const auto& t : inputs) any_grad |= t.requires_grad();
  if (!torch::GradMode::is_enabled() || !any_grad) return fn(inputs);
  return CheckpointFunction::apply(at::TensorList(inputs), c10::make_intrusive<FnHolder>(std::move(fn)))[0];
}

}  // namespace ds::engine::model
