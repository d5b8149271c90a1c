#include "engine/model/init.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>

#include "engine/model/causal_lm.hpp"

namespace ds::engine::model {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool is_residual_projection(std::string_view name) {
  return ends_with(name, "attn.c_proj") || ends_with(name, "mlp.c_proj") || ends_with(name, "self_attn.o_proj") ||
         ends_with(name, "mlp.down_proj");
}

void initial_values(const CausalLM& model, std::uint64_t seed, const InitialValueFn& fn) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double residual_std = kInitStd / std::sqrt(2.0 * static_cast<double>(model.spec().layers));
  // Each value is drawn into a fresh tensor of the parameter's shape, which consumes the
  // generator exactly as drawing into the parameter itself would.
  auto normal = [&](const std::string& name, const torch::Tensor& like, double stddev) {
    fn(name, torch::empty(like.sizes(), torch::kFloat).normal_(0.0, stddev, gen));
  };
  auto fill = [&](const std::string& name, const torch::Tensor& like, double value) {
    if (like.defined()) fn(name, torch::full(like.sizes(), value, torch::kFloat));
  };
  for (const auto& item : model.named_modules()) {
    const std::string& module = item.key();
    const std::string prefix = module.empty() ? "" : module + ".";
    const torch::nn::Module* m = item.value().get();
    if (const auto* e = dynamic_cast<const Embedding*>(m)) {
      normal(prefix + "weight", e->weight, kInitStd);
    } else if (const auto* l = dynamic_cast<const Linear*>(m)) {
      normal(prefix + "weight", l->weight, is_residual_projection(module) ? residual_std : kInitStd);
      fill(prefix + "bias", l->bias, 0.0);
    } else if (const auto* c = dynamic_cast<const Conv1D*>(m)) {
      normal(prefix + "weight", c->weight, is_residual_projection(module) ? residual_std : kInitStd);
      fill(prefix + "bias", c->bias, 0.0);
    } else if (const auto* n = dynamic_cast<const LayerNorm*>(m)) {
      fill(prefix + "weight", n->weight, 1.0);
      fill(prefix + "bias", n->bias, 0.0);
    } else if (const auto* r = dynamic_cast<const RmsNorm*>(m)) {
      fill(prefix + "weight", r->weight, 1.0);
    }
  }
}

void init_weights(CausalLM& model, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : model.named_parameters()) params.emplace(item.key(), item.value());
  initial_values(model, seed, [&](const std::string& name, const torch::Tensor& value) { params.at(name).copy_(value); });
}

}  // namespace ds::engine::model
