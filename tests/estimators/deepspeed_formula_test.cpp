#include "estimators/deepspeed_formula.hpp"

#include <gtest/gtest.h>

#include "estimators/presets.hpp"

namespace ds::estimators {
namespace {

// Llama-2-7B on one node of 8 GPUs, additional_buffer_factor 1.5. Ψ = 6,738,415,616 and the
// largest module (embed_tokens or lm_head) L = 32000 x 4096 = 131,072,000. By hand:
//   ZeRO-2 offload:    gpu 2Ψ = 13,476,831,232;        cpu Ψ x max(4x8, 16) x 1.5 = 48Ψ = 323,443,949,568
//   ZeRO-2 no offload: gpu 4Ψ + int(16Ψ/8) = 40,430,493,696; cpu Ψ x 4 x 8 x 1.5 = 48Ψ
//   ZeRO-3, 4L = 524,288,000:
//     offload both, zero_init:   gpu 4L;                        cpu 18Ψ x 1.5 = 181,937,221,632
//     offload both, no init:     gpu 4L;                        cpu Ψ x max(32, 18) x 1.5 = 48Ψ
//     offload optim, zero_init:  gpu 4L + int(2Ψ/8) = 2,208,891,904;  cpu 16Ψ x 1.5 = 161,721,974,784
//     offload optim, no init:    gpu 2,208,891,904;             cpu 48Ψ
//     no offload, zero_init:     gpu 4L + int(18Ψ/8) = 15,685,723,136; cpu L x 4 x 8 x 1.5 = 6,291,456,000
//     no offload, no init:       gpu 15,685,723,136;            cpu 48Ψ
TEST(DeepSpeedFormula, Llama7bOnEightGpus) {
  auto in = deepspeed_formula_input(find_model_preset("llama-2-7b")->spec, 8, 1);
  EXPECT_EQ(in.total_params, 6'738'415'616);
  EXPECT_EQ(in.largest_layer_params, 131'072'000);
  auto rows = deepspeed_formula_table(in);
  ASSERT_EQ(rows.size(), 8u);
  const std::int64_t p48 = 323'443'949'568;
  struct Want {
    int stage;
    bool optim, param, init;
    std::int64_t cpu, gpu;
  };
  const Want want[] = {{2, true, false, false, p48, 13'476'831'232},
                       {2, false, false, false, p48, 40'430'493'696},
                       {3, true, true, true, 181'937'221'632, 524'288'000},
                       {3, true, true, false, p48, 524'288'000},
                       {3, true, false, true, 161'721'974'784, 2'208'891'904},
                       {3, true, false, false, p48, 2'208'891'904},
                       {3, false, false, true, 6'291'456'000, 15'685'723'136},
                       {3, false, false, false, p48, 15'685'723'136}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rows[i].stage, want[i].stage);
    EXPECT_EQ(rows[i].offload_optimizer, want[i].optim);
    EXPECT_EQ(rows[i].offload_param, want[i].param);
    if (rows[i].stage == 3) {
      EXPECT_EQ(rows[i].zero_init, want[i].init);
    }
    EXPECT_EQ(rows[i].cpu_bytes, want[i].cpu);
    EXPECT_EQ(rows[i].gpu_bytes, want[i].gpu);
  }
}

// GPT-2 (Ψ = 124,439,808, L = wte = 38,597,376) on 2 nodes x 4 GPUs with factor 1.25, where
// gpus_factor = 1/2 makes DeepSpeed's max() pick the int side (4 x 4 = 16 > 18/2 = 9):
//   ZeRO-2 offload:    gpu 2Ψ = 248,879,616;  cpu Ψ x max(4 x 8, 16) x 1.25 = 4,977,592,320
//   ZeRO-2 no offload: gpu 4Ψ + int(16Ψ/8) = 746,638,848;  cpu Ψ x 4 x 4 x 1.25 = 2,488,796,160
//   ZeRO-3 offload both: gpu 4L = 154,389,504; cpu 18Ψ x 0.5 x 1.25 = 1,399,947,840 (init),
//                        Ψ x 16 x 1.25 = 2,488,796,160 (no init)
//   ZeRO-3 offload optim: gpu 4L + int(2Ψ/8) = 185,499,456; cpu 16Ψ x 0.5 x 1.25 = 1,244,398,080
//   ZeRO-3 no offload: gpu 4L + int(18Ψ/8) = 434,379,072; cpu L x 4 x 4 x 1.25 = 771,947,520 (init)
TEST(DeepSpeedFormula, TwoNodesAndAnotherBufferFactor) {
  auto in = deepspeed_formula_input(find_model_preset("gpt2")->spec, 4, 2, 1.25);
  EXPECT_EQ(in.largest_layer_params, 38'597'376);
  EXPECT_EQ(zero2_model_states_mem_needs(in, true).gpu_bytes, 248'879'616);
  EXPECT_EQ(zero2_model_states_mem_needs(in, true).cpu_bytes, 4'977'592'320);
  EXPECT_EQ(zero2_model_states_mem_needs(in, false).gpu_bytes, 746'638'848);
  EXPECT_EQ(zero2_model_states_mem_needs(in, false).cpu_bytes, 2'488'796'160);
  EXPECT_EQ(zero3_model_states_mem_needs(in, true, true, true).gpu_bytes, 154'389'504);
  EXPECT_EQ(zero3_model_states_mem_needs(in, true, true, true).cpu_bytes, 1'399'947'840);
  EXPECT_EQ(zero3_model_states_mem_needs(in, true, true, false).cpu_bytes, 2'488'796'160);
  EXPECT_EQ(zero3_model_states_mem_needs(in, true, false, true).gpu_bytes, 185'499'456);
  EXPECT_EQ(zero3_model_states_mem_needs(in, true, false, true).cpu_bytes, 1'244'398'080);
  EXPECT_EQ(zero3_model_states_mem_needs(in, true, false, false).cpu_bytes, 2'488'796'160);
  EXPECT_EQ(zero3_model_states_mem_needs(in, false, false, true).gpu_bytes, 434'379'072);
  EXPECT_EQ(zero3_model_states_mem_needs(in, false, false, true).cpu_bytes, 771'947'520);
}

// One GPU: max(4 x 1, 16) and max(4 x 1, 18.0) pick DeepSpeed's 16 and 18 bytes per parameter.
// Llama-3.2-1B, Ψ = 1,235,814,400: 16 x 1.5 Ψ = 29,659,545,600; 18 x 1.5 Ψ = 33,366,988,800.
TEST(DeepSpeedFormula, SingleGpuUsesTheFloatSideOfMax) {
  auto in = deepspeed_formula_input(find_model_preset("llama-3.2-1b")->spec, 1, 1);
  EXPECT_EQ(zero2_model_states_mem_needs(in, true).cpu_bytes, 29'659'545'600);
  EXPECT_EQ(zero3_model_states_mem_needs(in, true, true, false).cpu_bytes, 33'366'988'800);
}

}  // namespace
}  // namespace ds::estimators
