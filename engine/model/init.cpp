#include "engine/model/init.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

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

void init_weights(CausalLM& model, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double residual_std = kInitStd / std::sqrt(2.0 * static_cast<double>(model.spec().layers));
  for (const auto& item : model.named_modules()) {
    const std::string& name = item.key();
    torch::nn::Module* m = item.value().get();
    if (auto* e = dynamic_cast<Embedding*>(m)) {
      e->weight.normal_(0.0, kInitStd, gen);
    } else if (auto* l = dynamic_cast<Linear*>(m)) {
      l->weight.normal_(0.0, is_residual_projection(name) ? residual_std : kInitStd, gen);
      if (l->bias.defined()) l->bias.zero_();
    } else if (auto* c = dynamic_cast<Conv1D*>(m)) {
      c->weight.normal_(0.0, is_residual_projection(name) ? residual_std : kInitStd, gen);
      if (c->bias.defined()) c->bias.zero_();
    } else if (auto* n = dynamic_cast<LayerNorm*>(m)) {
      n->weight.fill_(1.0);
      n->bias.zero_();
    } else if (auto* r = dynamic_cast<RmsNorm*>(m)) {
      r->weight.fill_(1.0);
    }
  }
}

}  // namespace ds::engine::model
