#include "engine/infer/serving_setup.hpp"

#include <chrono>

#include "common/error.hpp"
#include "common/log.hpp"
#include "engine/chat_template/chat_template.hpp"
#include "engine/chat_template/model_text_config.hpp"

namespace ds::engine::infer {
namespace {

namespace fs = std::filesystem;

/// The folder holding the model's text files: the path itself, or the folder of a file in it.
fs::path model_dir(const fs::path& path) { return fs::is_directory(path) ? path : path.parent_path(); }

std::shared_ptr<const tokenizer::Tokenizer> open_tokenizer(const ServingOptions& o, std::int64_t vocab) {
  if (!o.tokenizer.empty()) return tokenizer::make_tokenizer(o.tokenizer);
  const auto dir = model_dir(o.model);
  for (const auto& candidate : {dir, dir.parent_path()}) {  // a ds checkpoint tag sits one level down
    if (fs::exists(candidate / "tokenizer.json")) return tokenizer::load_tokenizer(candidate);
  }
  if (vocab == tokenizer::ByteTokenizer::kVocabSize) return std::make_shared<tokenizer::ByteTokenizer>();
  throw UsageError(format_error(o.model.string(), "no tokenizer.json beside the model",
                                "a vocabulary of " + std::to_string(vocab), "",
                                "pass --tokenizer FILE|DIR (a Hugging Face tokenizer.json, or 'byte')"));
}

torch::Device pick_device(const std::string& device) {
  if (device == "cpu") return torch::kCPU;
  if (device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw UsageError(format_error("--device", "no CUDA device is available", "cuda", "", "use --device cpu"));
    }
    return torch::kCUDA;
  }
  if (device != "auto") throw UsageError(format_error("--device", "unknown device", device, "auto, cpu or cuda"));
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

torch::ScalarType pick_dtype(const std::string& dtype, const torch::Device& device) {
  if (dtype == "fp32") return torch::kFloat;
  if (dtype == "bf16") return torch::kBFloat16;
  if (dtype == "fp16") return torch::kHalf;
  if (dtype != "auto") throw UsageError(format_error("--dtype", "unknown dtype", dtype, "auto, fp32, bf16 or fp16"));
  return device.is_cuda() ? torch::kBFloat16 : torch::kFloat;
}

}  // namespace

Serving open_serving(const ServingOptions& o) {
  Serving s;
  const auto device = pick_device(o.device);
  const auto dtype = pick_dtype(o.dtype, device);
  checkpoint::LoadModelOptions load;
  load.device = device;
  load.dtype = dtype;
  load.tag = o.tag;
  auto loaded = checkpoint::load_model(o.model, load);
  s.source = loaded.source;
  s.weights = loaded.weights;
  s.dtype_name = dtype == torch::kFloat ? "fp32" : dtype == torch::kBFloat16 ? "bf16" : "fp16";
  s.device_name = device.str();
  s.tokenizer = open_tokenizer(o, loaded.spec.vocab);

  const auto dir = model_dir(o.model);
  const auto text = chat_template::load_text_config(dir);
  auto& m = s.model;
  m.id = !o.served_name.empty() ? o.served_name : fs::absolute(dir).lexically_normal().filename().string();
  if (m.id.empty()) m.id = "model";
  m.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto tok = s.tokenizer;
  m.encode = [tok](const std::string& text, bool add_special) {
    std::vector<std::uint32_t> ids;
    tokenizer::EncodeOptions eo;
    eo.add_special_tokens = add_special;
    eo.parse_special = true;
    tok->encode(text, eo, ids);
    return ids;
  };
  m.token_text = [tok](std::uint32_t id) { return tok->decode(std::span<const std::uint32_t>(&id, 1)); };
  if (text.chat_template) {
    // Both templates compiled once here, not per request.
    auto config = std::make_shared<chat_template::ModelTextConfig>(text);
    auto plain = std::make_shared<chat_template::ChatTemplate>(*text.chat_template, text.chat_template_origin);
    auto with_tools = plain;
    if (const auto source = chat_template::pick_chat_template(text, true); source && *source != *text.chat_template) {
      with_tools = std::make_shared<chat_template::ChatTemplate>(*source, text.chat_template_origin);
    }
    m.render_chat = [config, plain, with_tools](const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                                const nlohmann::ordered_json& tools) {
      chat_template::ChatRenderOptions ro;
      ro.add_generation_prompt = add_generation_prompt;
      ro.bos_token = config->bos_token;
      ro.eos_token = config->eos_token;
      ro.tools = tools;
      const bool has_tools = tools.is_array() && !tools.empty();
      return chat_template::render_chat(has_tools ? *with_tools : *plain, messages, ro);
    };
  } else {
    m.render_chat = [name = m.id](const nlohmann::ordered_json&, bool, const nlohmann::ordered_json&) -> std::string {
      throw RequestError(format_error("messages", "this model has no chat template", name, "",
                                      "use /v1/completions, or serve a model whose tokenizer_config.json has chat_template"),
                         400, "messages");
    };
  }
  for (auto id : text.generation.eos_token_ids) m.eos_token_ids.push_back(static_cast<std::uint32_t>(id));
  if (m.eos_token_ids.empty() && s.tokenizer->eos_id()) m.eos_token_ids.push_back(*s.tokenizer->eos_id());
  const auto& g = text.generation;
  if (g.temperature) m.default_sampling.temperature = *g.temperature;
  if (g.do_sample && !*g.do_sample) m.default_sampling.temperature = 0.0;
  if (g.top_p) m.default_sampling.top_p = *g.top_p;
  if (g.top_k) m.default_sampling.top_k = *g.top_k;
  if (g.repetition_penalty) m.default_sampling.repetition_penalty = *g.repetition_penalty;

  s.engine = std::make_unique<InferenceEngine>(std::move(loaded), s.tokenizer, o.engine);
  return s;
}

}  // namespace ds::engine::infer
