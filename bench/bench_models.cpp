#include "bench/bench_models.hpp"

#include "estimators/presets.hpp"

namespace ds::bench {

estimators::ModelSpec small_llama_spec() {
  auto spec = estimators::find_model_preset("ds-tiny")->spec;
  spec.name = "bench-llama";
  spec.layers = 4;
  spec.hidden = 256;
  spec.heads = 8;
  spec.kv_heads = 4;
  spec.head_dim = 32;
  spec.ffn = 688;
  spec.vocab = 257;  // engine/tokenizer's ByteTokenizer::kVocabSize (256 bytes + end of text)
  spec.max_seq = 512;
  return spec;
}

}  // namespace ds::bench
