#include "bench/bench_models.hpp"

#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.hpp"
#include "estimators/param_count.hpp"

namespace ds::bench {
namespace {

TEST(BenchModels, SmallLlamaIsTheMeasuredShape) {
  const auto spec = small_llama_spec();
  EXPECT_EQ(spec.name, "bench-llama");
  EXPECT_EQ(spec.layers, 4);
  EXPECT_EQ(spec.hidden, 256);
  EXPECT_EQ(spec.heads, 8);
  EXPECT_EQ(spec.kv_heads, 4);
  EXPECT_EQ(spec.heads * spec.head_dim, spec.hidden);
  EXPECT_EQ(spec.ffn, 688);
  EXPECT_EQ(spec.max_seq, 512);
  // Generated ids must decode with the byte tokenizer the benchmarks serve it with.
  EXPECT_EQ(spec.vocab, engine::tokenizer::ByteTokenizer::kVocabSize);
  // Per layer: q,o 256x256 + k,v 256x128 + 3 x 256x688 + 2 norms; tied 257x256 embedding; final norm.
  const std::int64_t layer = 2 * 256 * 256 + 2 * 256 * 128 + 3 * 256 * 688 + 2 * 256;
  EXPECT_EQ(estimators::count_params(spec).total, 4 * layer + 257 * 256 + 256);
}

}  // namespace
}  // namespace ds::bench
