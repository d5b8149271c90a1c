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

// A Llama-style layer by hand: no dropout, RMSNorm, GQA with kv = a/4, SwiGLU ffn = 2h, fp16.
//   not split: 2 RMSNorms, each keeping its fp32 input, the squared fp32 values (LibTorch 1.13's
//              mean keeps its input; unfused plans are priced as 1.13 runs them), the normalised
//              value and its output: (4 + 4 + 2 + 2) x 2                  = 24 sbh
//              + a 4-byte rsqrt per token each                               = 8 sb
//   split:     Q 2 + K, V repeated to every head 2 x 2 + attention output 2 = 8 sbh
//              SwiGLU: 4 tensors x 2 bytes x ffn (2h)                        = 16 sbh
//   scores:    fp32 softmax output and its fp16 copy, 6 x a s^2 b = sbh x 6as/h = 192 sbh,
//              + the 1-byte s x s causal mask = s^2 = 0.5 sbh                (unfused)
//   fused:     norms (4 + 2 + 2) x 2 = 16 sbh; K, V at kv heads: Q 2 + 2 x 2 x 1/4 + 2 = 5 sbh;
//              fp32 log-sum-exp 4 x a s b = sbh x 4a/h = 0.0625 sbh
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
  const double sb = 2048.0 * 4;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * (24 + 8 + 16 + 192 + 0.5) + 8 * sb);
  p.fused_attention = true;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * (16 + 5 + 16 + 0.0625) + 8 * sb);
  // fp32 training: the norms keep (4 + 4 + 4) x 2 = 24 sbh, the rest doubles.
  p.dtype = DType::kFp32;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, p).saved(Checkpointing::kNone), kSbh * (24 + 2 * 21 + 0.0625) + 8 * sb);
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
  // s x b x v x 12: backward holds the fp32 log-probs, their gradient and the logits' gradient
  // (more than the forward's 2-byte logits, their fp32 copy and the log-probs).
  EXPECT_DOUBLE_EQ(a.logits_bytes, 2048.0 * 4 * 51200 * 12);
  // A layer's backward workspace: output gradient 2 + two ffn-wide gradients 2 x 2 x 4 + an fp32
  // norm gradient 4 = 22 sbh, + the largest weight's fresh gradient 2 x h x 4h = 1 sbh here.
  EXPECT_DOUBLE_EQ(a.recompute_bytes, kSbh * 23);
  EXPECT_DOUBLE_EQ(a.activations_item() + a.logits_item(),
                   a.stored_bytes + a.embedding_bytes + a.output_bytes + a.logits_bytes);

  p.checkpointing = Checkpointing::kFull;
  a = activation_memory(m, p);
  EXPECT_DOUBLE_EQ(a.stored_bytes, 24 * 2 * kSbh);
  // Recomputing rebuilds one layer's 194 sbh but shares the 2 sbh input the checkpoint kept.
  EXPECT_DOUBLE_EQ(a.recompute_bytes, kSbh * (194 - 2 + 23));
  // The recompute workspace (215 sbh) comes after the logits (600 sbh) and the output inputs
  // (4 sbh) are freed and is smaller, so the peak is stored + embedding + output + logits.
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
  // First stage: 6 layers x 4 micro-batches x 194 sbh + 4 embedding masks + a layer's backward
  // workspace 23 = 4683 sbh; last stage: 6 x 194 + 4 + 600 = 1768 sbh. The first is fuller and
  // has no logits.
  EXPECT_DOUBLE_EQ(a.activations_item(), kSbh * (6 * 4 * 194 + 4 + 23));
  EXPECT_DOUBLE_EQ(a.logits_item(), 0);
  // A block's backward on the first stage holds the same (it has no logits to free).
  EXPECT_DOUBLE_EQ(a.block_backward_bytes(), a.activations_item());
  p.grad_accum = 1;  // only one micro-batch in flight: the last stage (with logits) is fuller
  a = activation_memory(m, p);
  EXPECT_EQ(a.in_flight, 1);
  EXPECT_DOUBLE_EQ(a.activations_item() + a.logits_item(), kSbh * (6 * 194 + 4) + a.logits_bytes);
  // The last stage's blocks run backward after the loss freed the logits: 6 x 194 sbh + 23.
  EXPECT_DOUBLE_EQ(a.block_backward_bytes(), kSbh * (6 * 194 + 23));
}

// "every-N" checkpoints blocks 0, N, 2N, ...: with 24 layers and N = 5, blocks 0, 5, ..., 20 keep
// their 2 sbh input, the other 19 everything. Block 20 is the last recomputed one; blocks 21-23
// have finished backward (and freed their 194 sbh each) by the time it recomputes.
TEST(ActivationMemory, EveryNCheckpointsEveryNthBlock) {
  ModelSpec m = korthikanti_gpt();
  Plan p = korthikanti_plan();
  p.checkpointing = Checkpointing::kFull;
  p.checkpoint_every = 5;
  ActivationMemory a = activation_memory(m, p);
  EXPECT_DOUBLE_EQ(a.stored_bytes, kSbh * (5 * 2 + 19 * 194));
  EXPECT_DOUBLE_EQ(a.recompute_bytes, kSbh * (23 + 194 - 2 - 3 * 194));
  p.checkpoint_every = 1;  // every block: the same as full
  EXPECT_DOUBLE_EQ(activation_memory(m, p).stored_bytes, kSbh * 24 * 2);
}

// A tied embedding gets two gradients; autograd holds lm_head's through backward and adds the
// embedding's to it at the end (three V x h gradients live). With full recomputation and a small
// layer the end of backward can be the peak.
TEST(ActivationMemory, TiedEmbeddingGradientsAtTheEndOfBackward) {
  ModelSpec m = korthikanti_gpt();
  m.tied_embeddings = true;
  m.layers = 1;
  Plan p = korthikanti_plan();
  p.seq_len = 16;
  p.micro_batch = 1;
  p.checkpointing = Checkpointing::kFull;
  ActivationMemory a = activation_memory(m, p);
  const double matrix_grad = 2.0 * 51200 * 1024;
  EXPECT_DOUBLE_EQ(a.held_grad_bytes, matrix_grad);
  EXPECT_DOUBLE_EQ(a.end_of_backward_bytes, 3 * matrix_grad);
  EXPECT_DOUBLE_EQ(a.activations_item() + a.logits_item(), a.embedding_bytes + 3 * matrix_grad);
  m.tied_embeddings = false;
  EXPECT_DOUBLE_EQ(activation_memory(m, p).end_of_backward_bytes, matrix_grad);
  EXPECT_DOUBLE_EQ(activation_memory(m, p).held_grad_bytes, 0);
}

}  // namespace
}  // namespace ds::estimators
