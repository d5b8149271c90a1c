#include "estimators/model_states_memory.hpp"

#include <gtest/gtest.h>

namespace ds::estimators {
namespace {

// ZeRO paper (Rajbhandari et al. 2020) Figure 1: Ψ = 7.5B, N_d = 64, K = 12 (mixed-precision
// Adam), fp16 gradients, decimal GB:
//   baseline  (2 + 2 + K)Ψ          = 16 x 7.5           = 120 GB
//   P_os      2Ψ + 2Ψ + KΨ/N_d      = 30 + 90/64         = 31.40625 GB  (31.4)
//   P_os+g    2Ψ + (2 + K)Ψ/N_d     = 15 + 105/64        = 16.640625 GB (16.6)
//   P_os+g+p  (2 + 2 + K)Ψ/N_d      = 120/64             = 1.875 GB     (1.9)
TEST(ModelStates, ZeroPaperFigure1) {
  const std::int64_t psi = 7'500'000'000;
  Plan p;
  p.dtype = DType::kFp16;  // the paper's fp16 gradients, no fp32 accumulation buffer
  p.optimizer = OptimizerKind::kAdam;
  p.dp = 64;
  const double expected_gb[] = {120.0, 31.40625, 16.640625, 1.875};
  const double paper_gb[] = {120.0, 31.4, 16.6, 1.9};
  for (int stage = 0; stage <= 3; ++stage) {
    p.zero_stage = stage;
    double gb = model_states_device_bytes(psi, p) / 1e9;
    EXPECT_DOUBLE_EQ(gb, expected_gb[stage]) << "stage " << stage;
    EXPECT_NEAR(gb, paper_gb[stage], 0.05) << "stage " << stage;
  }
}

double bytes_of(const std::vector<MemoryItem>& items, Category c, Location l) {
  double sum = 0;
  for (const auto& i : items) {
    if (i.category == c && i.location == l) sum += i.bytes;
  }
  return sum;
}

TEST(ModelStates, Fp32GradientAccumulation) {
  Plan p;  // bf16 AdamW
  p.dp = 8;
  // DeepSpeed's default: fp32 accumulation for bf16 without ZeRO only.
  EXPECT_DOUBLE_EQ(bytes_of(model_states_memory(1000, p), Category::kGradAccumFp32, Location::kDevice), 4000);
  p.zero_stage = 2;
  EXPECT_DOUBLE_EQ(bytes_of(model_states_memory(1000, p), Category::kGradAccumFp32, Location::kDevice), 0);
  p.fp32_grad_accumulation = true;  // data_types.grad_accum_dtype = fp32
  auto items = model_states_memory(1000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kParams, Location::kDevice), 2000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradients, Location::kDevice), 2000.0 / 8);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Location::kDevice), 4000.0 / 8);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Location::kDevice), 4000.0 / 8);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kOptimizerStates, Location::kDevice), 8000.0 / 8);
  p.zero_stage = 1;  // stage 1 does not partition gradients
  items = model_states_memory(1000, p);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kGradAccumFp32, Location::kDevice), 4000);
}

TEST(ModelStates, Fp32TrainingHasNoMasterCopy) {
  Plan p;
  p.dtype = DType::kFp32;
  auto items = model_states_memory(1000, p);
  // 4 (params) + 4 (grads) + 8 (Adam) = 16 bytes per parameter.
  EXPECT_DOUBLE_EQ(model_states_device_bytes(1000, p), 16000);
  EXPECT_DOUBLE_EQ(bytes_of(items, Category::kMasterParams, Location::kDevice), 0);
}

TEST(ModelStates, OptimizerChoices) {
  Plan p;
  p.optimizer = OptimizerKind::kSgd;
  EXPECT_EQ(optimizer_state_bytes_per_param(p), 0);
  p.sgd_momentum = true;
  EXPECT_EQ(optimizer_state_bytes_per_param(p), 4);
  p.optimizer = OptimizerKind::kAdam;
  EXPECT_EQ(optimizer_state_bytes_per_param(p), 8);
}

// ZeRO-Offload (stage 2 + cpu): the GPU keeps the fp16 parameters (DeepSpeed's "2 x params");
// the CPU holds fp32 master, Adam states and fp32 gradients: 16 bytes per parameter partition.
TEST(ModelStates, ZeroOffloadMovesStatesAndGradientsToTheCpu) {
  Plan p;
  p.dtype = DType::kFp16;
  p.zero_stage = 2;
  p.offload_optimizer = OffloadDevice::kCpu;
  p.dp = 4;
  auto items = model_states_memory(1000, p);
  EXPECT_DOUBLE_EQ(model_states_device_bytes(1000, p), 2000);
  double cpu = 0;
  for (const auto& i : items) cpu += i.location == Location::kCpu ? i.bytes : 0;
  EXPECT_DOUBLE_EQ(cpu, 16.0 * 1000 / 4);
}

// Partial offload (offload_optimizer.ratio 0.25 at stage 3): of each rank's 10 sub-groups of 100,
// int(0.75 x 10) = 7 keep their master, states and fp32 gradients on the device.
TEST(ModelStates, PartialOffloadKeepsSomeSubGroupsOnTheDevice) {
  Plan p;
  p.dtype = DType::kFp16;
  p.zero_stage = 3;
  p.offload_optimizer = OffloadDevice::kCpu;
  p.offload_optimizer_ratio = 0.25;
  p.sub_group_size = 100;
  p.dp = 4;
  auto items = model_states_memory(4000, p);
  double cpu = 0;
  for (const auto& i : items) cpu += i.location == Location::kCpu ? i.bytes : 0;
  EXPECT_DOUBLE_EQ(cpu, 16.0 * 300);
  // fp16 parameter partition (2 B) and 16 B for each kept element.
  EXPECT_DOUBLE_EQ(model_states_device_bytes(4000, p), 2.0 * 1000 + 16.0 * 700);
}

// ZeRO-Infinity (stage 3, params and optimizer on NVMe): nothing stays on the device; NVMe holds
// 2 + 4 + 8 + 4 = 18 bytes per parameter partition (DeepSpeed's 18 for offload_param).
TEST(ModelStates, ZeroInfinityPutsEverythingOnNvme) {
  Plan p;
  p.dtype = DType::kFp16;
  p.zero_stage = 3;
  p.offload_optimizer = OffloadDevice::kNvme;
  p.offload_param = OffloadDevice::kNvme;
  p.dp = 8;
  auto items = model_states_memory(8000, p);
  EXPECT_DOUBLE_EQ(model_states_device_bytes(8000, p), 0);
  double nvme = 0;
  for (const auto& i : items) nvme += i.location == Location::kNvme ? i.bytes : 0;
  EXPECT_DOUBLE_EQ(nvme, 18.0 * 1000);
}

TEST(ModelStates, StageOneOffloadKeepsFullGradientsOnTheDevice) {
  Plan p;
  p.dtype = DType::kFp16;
  p.zero_stage = 1;
  p.offload_optimizer = OffloadDevice::kCpu;
  p.dp = 4;
  // fp16 params 2 + fp16 grads 2 (reduced only at the accumulation boundary).
  EXPECT_DOUBLE_EQ(model_states_device_bytes(1000, p), 4000);
}

}  // namespace
}  // namespace ds::estimators
