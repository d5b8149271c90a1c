#include "estimators/activation_memory.hpp"

#include <gtest/gtest.h>

namespace ds::estimators {
namespace {

// A GPT layer as Korthikanti et al. 2022 analyse it: LayerNorm, GELU MLP of 4h, dropout
// everywhere, 16-bit activations. h = 1024, a = 16, s = 2048, b = 4, so sbh = 8,388,608 and
// 5as/h = 160.
ModelSpec korthikanti_gpt() {
  ModelSpec m;
  m.name = "gpt-test";
  m.family = ModelFamily::kGpt2;
  m.layers = 24;
  m.hidden = 1024;
  m.heads = m.kv_heads = 16;
  m.head_dim = 64;
  m.ffn = 4096;
  m.vocab = 51200;
  m.max_seq = 2048;
  m.norm = NormType::kLayerNorm;
  m.activation = Activation::kGelu;
  m.position = PositionEncoding::kLearned;
  m.dropout = 0.1;
  return m;
}

Plan korthikanti_plan() {
  Plan p;
  p.dtype = DType::kFp16;
  p.seq_len = 2048;
  p.micro_batch = 4;
  p.fused_attention = false;
  return p;
}

constexpr double kSbh = 2048.0 * 4 * 1024;

TEST(ActivationMemory, KorthikantiTable2) {
  ModelSpec m = korthikanti_gpt();
  Plan p = korthikanti_plan();
  // No parallelism: sbh(34 + 5as/h) = sbh x 194 = 1,627,389,952 bytes.
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * 194);
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), 1'627'389'952.0);
  // Tensor parallel t = 8: sbh(10 + 24/t + 5as/(ht)) = sbh(10 + 3 + 20).
  p.tp = 8;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * 33);
  // + sequence parallel: sbh(34/t + 5as/(ht)) = sbh(4.25 + 20).
  p.sequence_parallel = true;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * 24.25);
  // + selective recomputation: sbh x 34/t.
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kSelective), kSbh * 34 / 8);
  // Full recomputation keeps the 2sbh layer input (divided by t under sequence parallelism).
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kFull), kSbh * 2 / 8);
  p.sequence_parallel = false;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kFull), kSbh * 2);
  // Selective without sequence parallelism: sbh(10 + 24/t).
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kSelective), kSbh * 13);
}

// A Llama-style layer by hand: no dropout, RMSNorm, GQA with kv = a/4, SwiGLU ffn = 2h.
//   not split: 2 norm inputs + 2 norm outputs, 2 bytes each          = 8 sbh
//   split:     Q 2 + K, V 2 x 2 x 1/4 + attention output 2           = 5 sbh
//              SwiGLU: 4 tensors x 2 bytes x ffn (2h)                 = 16 sbh
//   scores:    softmax output only, 2 x a s^2 b = sbh x 2as/h = 64    (unfused)
//   fused:     fp32 log-sum-exp 4 x a s b = sbh x 4a/h = 0.0625
TEST(ActivationMemory, GqaSwiGluNoDropoutByHand) {
  ModelSpec m = korthikanti_gpt();
  m.family = ModelFamily::kLlama;
  m.kv_heads = 4;
  m.ffn = 2048;
  m.norm = NormType::kRmsNorm;
  m.activation = Activation::kSwiGlu;
  m.position = PositionEncoding::kRope;
  m.dropout = 0;
  Plan p = korthikanti_plan();
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * (8 + 5 + 16 + 64));
  p.fused_attention = true;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * (8 + 5 + 16 + 0.0625));
  // fp32 training doubles every 2-byte term (masks are absent here).
  p.dtype = DType::kFp32;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * (2 * 29 + 0.0625));
}

TEST(ActivationMemory, UlyssesSplitsTheSequence) {
  ModelSpec m = korthikanti_gpt();
  Plan p = korthikanti_plan();
  double whole = layer_activation_bytes(m, p).saved(Checkpointing::kNone);
  p.sp = 4;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), whole / 4);
}

TEST(ActivationMemory, StoredLogitsAndRecompute) {
  ModelSpec m = korthikanti_gpt();
  Plan p = korthikanti_plan();
  ActivationMemory a = activation_memory(m, p);
  EXPECT_EQ(a.layers_on_stage, 24);
  EXPECT_EQ(a.in_flight, 1);
  EXPECT_DOUBLE_EQ(a.stored_bytes, 24 * kSbh * 194);
  EXPECT_DOUBLE_EQ(a.embedding_bytes, kSbh);  // 1-byte embedding dropout mask
  EXPECT_DOUBLE_EQ(a.output_bytes, 4 * kSbh);
  // s x b x v x (2 bytes fp16 logits + 4 fp32 log-probs + 4 fp32 gradient).
  EXPECT_DOUBLE_EQ(a.logits_bytes, 2048.0 * 4 * 51200 * 10);
  EXPECT_DOUBLE_EQ(a.recompute_bytes, 0);
  EXPECT_DOUBLE_EQ(a.activations_item() + a.logits_item(),
                   a.stored_bytes + a.embedding_bytes + a.output_bytes + a.logits_bytes);

  p.checkpointing = Checkpointing::kFull;
  a = activation_memory(m, p);
  EXPECT_DOUBLE_EQ(a.stored_bytes, 24 * 2 * kSbh);
  EXPECT_DOUBLE_EQ(a.recompute_bytes, kSbh * 194);
  // The recompute workspace of one layer (194 sbh) comes after the logits (500 sbh) and the output
  // inputs (4 sbh) are freed and is smaller, so the peak is stored + embedding + output + logits.
  EXPECT_DOUBLE_EQ(a.activations_item() + a.logits_item(),
                   a.stored_bytes + a.embedding_bytes + a.output_bytes + a.logits_bytes);
}

TEST(ActivationMemory, PipelineFirstStageHoldsPpMicroBatches) {
  ModelSpec m = korthikanti_gpt();
  Plan p = korthikanti_plan();
  p.pp = 4;
  p.grad_accum = 8;
  ActivationMemory a = activation_memory(m, p);
  EXPECT_EQ(a.layers_on_stage, 6);
  EXPECT_EQ(a.in_flight, 4);
  // First stage: 6 layers x 4 micro-batches x 194 sbh + 4 embedding masks = 4660 sbh; last
  // stage: 6 x 194 + 4 + 500 = 1668 sbh. The first is fuller and has no logits.
  EXPECT_DOUBLE_EQ(a.activations_item(), kSbh * (6 * 4 * 194 + 4));
  EXPECT_DOUBLE_EQ(a.logits_item(), 0);
  p.grad_accum = 1;  // only one micro-batch in flight: the last stage (with logits) is fuller
  a = activation_memory(m, p);
  EXPECT_EQ(a.in_flight, 1);
  EXPECT_DOUBLE_EQ(a.activations_item() + a.logits_item(), kSbh * (6 * 194 + 4) + a.logits_bytes);
}

}  // namespace
}  // namespace ds::estimators
