// PagedAttention + CausalLM::forward_cached: chunked prefill and decode over a paged KV cache
// give the same logits as the full forward, for Llama (GQA, RoPE) and GPT-2, one sequence or
// several packed in one pass with scattered block tables.
#include "engine/infer/kv_cache.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/infer/tiny_models.hpp"

namespace ds::engine::infer {
namespace {

constexpr double kTol = 1e-9;

/// Logits of the last position of the full forward over `ids`.
torch::Tensor full_last_logits(model::CausalLM& m, const std::vector<std::int64_t>& ids) {
  auto t = torch::tensor(ids, torch::kLong).unsqueeze(0);
  return m.forward(t)[0][-1];
}

struct Seq {
  std::vector<std::int64_t> ids;     // every token the sequence will ever see
  std::vector<std::int32_t> blocks;  // its block table
  std::int64_t computed = 0;
};

/// One packed forward of `n[i]` new tokens of every seq; returns each one's last-token logits.
std::vector<torch::Tensor> packed_step(model::CausalLM& m, KvCache& cache, std::vector<Seq*> seqs,
                                       const std::vector<std::int64_t>& n) {
  std::vector<std::int64_t> ids, positions, rows;
  std::vector<SequenceSlice> slices;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    auto& s = *seqs[i];
    for (std::int64_t p = s.computed; p < s.computed + n[i]; ++p) {
      ids.push_back(s.ids[static_cast<std::size_t>(p)]);
      positions.push_back(p);
    }
    rows.push_back(static_cast<std::int64_t>(ids.size()) - 1);
    slices.push_back({s.computed, n[i], &s.blocks});
  }
  PagedAttention attn(cache, slices, model::AttentionImpl::kAuto, torch::kCPU);
  torch::NoGradGuard no_grad;
  auto logits = m.forward_cached(torch::tensor(ids, torch::kLong).unsqueeze(0),
                                 torch::tensor(positions, torch::kLong).unsqueeze(0), attn,
                                 torch::tensor(rows, torch::kLong));
  std::vector<torch::Tensor> out;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    seqs[i]->computed += n[i];
    out.push_back(logits[static_cast<std::int64_t>(i)]);
  }
  return out;
}

std::vector<std::int64_t> random_ids(std::int64_t n, std::int64_t vocab, std::uint64_t seed) {
  torch::manual_seed(seed);
  auto t = torch::randint(0, vocab, {n}, torch::kLong);
  return {t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + n};
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& where) {
  ASSERT_EQ(got.sizes(), want.sizes()) << where;
  const double err = (got - want).abs().max().item<double>();
  EXPECT_LT(err, kTol) << where;
}

class KvCacheModel : public ::testing::TestWithParam<std::string> {
 protected:
  estimators::ModelSpec spec() const {
    return GetParam() == "llama" ? test::tiny_llama_spec() : test::tiny_gpt2_spec();
  }
};

TEST_P(KvCacheModel, ChunkedPrefillThenDecodeMatchesFullForward) {
  const auto spec = this->spec();
  auto m = test::tiny_model(spec);
  KvCache cache(spec, 16, 4, torch::kFloat64, torch::kCPU);
  Seq s{random_ids(20, spec.vocab, 3), {9, 2, 14, 0, 7}, 0};  // scattered blocks
  const std::int64_t chunks[] = {5, 3, 6};                     // 14-token prompt, chunks across blocks
  std::int64_t done = 0;
  for (auto n : chunks) {
    done += n;
    auto got = packed_step(*m, cache, {&s}, {n});
    expect_close(got[0], full_last_logits(*m, {s.ids.begin(), s.ids.begin() + done}),
                 "prefill up to " + std::to_string(done));
  }
  while (done < 20) {
    ++done;
    auto got = packed_step(*m, cache, {&s}, {1});
    expect_close(got[0], full_last_logits(*m, {s.ids.begin(), s.ids.begin() + done}),
                 "decode at " + std::to_string(done));
  }
}

TEST_P(KvCacheModel, TwoSequencesPackedInOnePass) {
  const auto spec = this->spec();
  auto m = test::tiny_model(spec);
  KvCache cache(spec, 12, 4, torch::kFloat64, torch::kCPU);
  // Interleaved tables: neither sequence's history is contiguous.
  Seq a{random_ids(13, spec.vocab, 4), {1, 4, 6, 10}, 0};
  Seq b{random_ids(9, spec.vocab, 5), {11, 3, 0}, 0};
  const std::vector<std::vector<std::int64_t>> passes = {{6, 2}, {1, 5}, {4, 1}, {1, 1}, {1, 0}};
  for (const auto& n : passes) {
    std::vector<Seq*> seqs;
    std::vector<std::int64_t> counts;
    if (n[0] > 0) { seqs.push_back(&a); counts.push_back(n[0]); }
    if (n[1] > 0) { seqs.push_back(&b); counts.push_back(n[1]); }
    auto got = packed_step(*m, cache, seqs, counts);
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      const auto& s = *seqs[i];
      expect_close(got[i], full_last_logits(*m, {s.ids.begin(), s.ids.begin() + s.computed}),
                   (seqs[i] == &a ? "a at " : "b at ") + std::to_string(s.computed));
    }
  }
  EXPECT_EQ(a.computed, 13);
  EXPECT_EQ(b.computed, 9);
}

INSTANTIATE_TEST_SUITE_P(Families, KvCacheModel, ::testing::Values("llama", "gpt2"));

TEST(KvCache, BlockBytesCountKeysAndValuesOfEveryLayer) {
  auto spec = test::tiny_llama_spec();  // 2 layers, 2 kv heads of 8
  EXPECT_EQ(kv_block_bytes(spec, 16, torch::kFloat32), 2 * 2 * 16 * 2 * 8 * 4);
  EXPECT_EQ(kv_block_bytes(spec, 16, torch::kBFloat16), 2 * 2 * 16 * 2 * 8 * 2);
}

TEST(KvCache, PositionWithoutABlockIsAnInternalError) {
  auto spec = test::tiny_llama_spec();
  KvCache cache(spec, 4, 4, torch::kFloat64, torch::kCPU);
  std::vector<std::int32_t> one_block{2};
  EXPECT_THROW(PagedAttention(cache, {{3, 2, &one_block}}, model::AttentionImpl::kAuto, torch::kCPU), RuntimeError);
}

}  // namespace
}  // namespace ds::engine::infer
