#pragma once
// Everything `ds serve` and `ds generate` need from a model path: the weights (load_model), the
// tokenizer, the chat template and generation defaults, and a running InferenceEngine.
#include <filesystem>
#include <memory>
#include <string>

#include "engine/infer/inference_engine.hpp"
#include "engine/serve/served_model.hpp"

namespace ds::engine::infer {

struct ServingOptions {
  std::filesystem::path model;      ///< a Hugging Face model directory or a ds checkpoint
  std::string tokenizer;            ///< "byte", a tokenizer.json or a directory; "" = the model's own
  std::string served_name;          ///< the name clients use; "" = the model directory's name
  std::string dtype = "auto";       ///< auto (bf16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16
  std::string device = "auto";      ///< auto | cpu | cuda
  std::string tag;                  ///< ds checkpoints: the tag ("" = latest)
  EngineOptions engine;
};

/// A loaded model ready to serve. The engine runs until destroyed.
struct Serving {
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer;
  serve::ServedModel model;         ///< for HttpServer
  std::unique_ptr<InferenceEngine> engine;
  checkpoint::ModelSource source = checkpoint::ModelSource::kHuggingFace;
  std::filesystem::path weights;
  std::string dtype_name;
  std::string device_name;
};

/// Loads and starts. Throws UsageError naming the path for what is missing (no tokenizer and a
/// vocabulary that is not the byte tokenizer's, say).
Serving open_serving(const ServingOptions& options);

}  // namespace ds::engine::infer
