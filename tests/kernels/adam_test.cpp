// The Adam kernel: every ISA this CPU has equals the scalar reference bit for bit (0 ulps: the
// same IEEE-rounded operations in the same order, -ffp-contract=off, and sqrt/div are correctly
// rounded in both scalar and vector units), the half copies equal the rounded fp32 params, and
// bad arguments give the house error. The match with torch itself: adam_torch_test.cpp.
#include "kernels/cpu/adam.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "common/error.hpp"
#include "kernels/cpu/half.hpp"

namespace ds::kernels {
namespace {

struct State {
  std::vector<float> params, grads, exp_avg, exp_avg_sq;
  std::vector<std::uint16_t> half;
};

State random_state(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  State s;
  for (std::int64_t i = 0; i < n; ++i) {
    s.params.push_back(normal(rng));
    s.grads.push_back(i % 13 == 0 ? 0.0f : 1e-2f * normal(rng));
    s.exp_avg.push_back(1e-3f * normal(rng));
    s.exp_avg_sq.push_back(1e-5f * std::fabs(normal(rng)));
  }
  s.half.assign(static_cast<std::size_t>(n), 0);
  return s;
}

AdamArrays arrays_of(State& s, HalfType half = HalfType::kNone) {
  AdamArrays a;
  a.params = s.params.data();
  a.grads = s.grads.data();
  a.exp_avg = s.exp_avg.data();
  a.exp_avg_sq = s.exp_avg_sq.data();
  a.n = static_cast<std::int64_t>(s.params.size());
  a.params_half = s.half.data();
  a.half_type = half;
  return a;
}

std::vector<CpuIsa> isas_of_this_cpu() {
  const CpuIsa best = choose_cpu_isa(detect_cpu_features(), "");
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (static_cast<int>(isa) <= static_cast<int>(best)) out.push_back(isa);
  }
  return out;
}

// First index where two arrays differ in bits, or -1; the message names it and the values.
::testing::AssertionResult bit_equal(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto g = std::bit_cast<std::uint32_t>(got[i]), w = std::bit_cast<std::uint32_t>(want[i]);
    if (g != w) {
      return ::testing::AssertionFailure() << what << "[" << i << "] = " << got[i] << ", reference " << want[i]
                                           << " (" << static_cast<std::int64_t>(g) - static_cast<std::int64_t>(w)
                                           << " ulps)";
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(Adam, FirstStepMovesEachParamByLrAgainstItsGradient) {
  // Step 1 with bias correction: m/bc1 = g and sqrt(v/bc2) = |g|, so the update is -lr*sign(g)
  // up to eps. Worked by hand: p = 1, g = 0.5, lr = 0.01 -> 0.99; AdamW wd = 0.1 first scales p by 0.999.
  std::vector<float> p = {1.0f, 1.0f}, g = {0.5f, -0.5f}, m = {0, 0}, v = {0, 0};
  AdamOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  AdamArrays a{.params = p.data(), .grads = g.data(), .exp_avg = m.data(), .exp_avg_sq = v.data(), .n = 2};
  adam_step(o, a, CpuIsa::kScalar);
  EXPECT_NEAR(p[0], 0.999 - 0.01, 1e-6);
  EXPECT_NEAR(p[1], 0.999 + 0.01, 1e-6);
  EXPECT_FLOAT_EQ(m[0], 0.05f);
  EXPECT_FLOAT_EQ(v[1], 0.00025f);
}

TEST(Adam, WithoutBiasCorrectionTheFirstStepIsSmaller) {
  // bc1 = bc2 = 1: update = lr * (0.1 g) / (sqrt(0.001) |g|) = lr * 0.1 / sqrt(0.001) = 3.162 lr.
  std::vector<float> p = {1.0f}, g = {0.5f}, m = {0}, v = {0};
  AdamOptions o;
  o.lr = 0.01;
  o.bias_correction = false;
  AdamArrays a{.params = p.data(), .grads = g.data(), .exp_avg = m.data(), .exp_avg_sq = v.data(), .n = 1};
  adam_step(o, a, CpuIsa::kScalar);
  EXPECT_NEAR(p[0], 1.0 - 0.01 * 0.1 / std::sqrt(0.001), 1e-6);
}

TEST(Adam, AdamAddsDecayToTheGradient) {
  // Adam (L2): g' = g + wd*p = 0.5 + 0.1*1 = 0.6; still -lr*sign at step 1, but m and v see g'.
  std::vector<float> p = {1.0f}, g = {0.5f}, m = {0}, v = {0};
  AdamOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  o.adamw = false;
  AdamArrays a{.params = p.data(), .grads = g.data(), .exp_avg = m.data(), .exp_avg_sq = v.data(), .n = 1};
  adam_step(o, a, CpuIsa::kScalar);
  EXPECT_NEAR(p[0], 0.99, 1e-6);
  EXPECT_FLOAT_EQ(m[0], 0.06f);
}

struct Variant {
  bool adamw;
  bool bias_correction;
  double weight_decay;
};

TEST(Adam, EveryIsaEqualsTheScalarReferenceBitForBit) {
  const auto isas = isas_of_this_cpu();
  if (isas.empty()) GTEST_SKIP() << "this CPU has no SIMD ISA ds compiles for";
  for (std::int64_t n : {0, 1, 15, 17, 33, 1000003}) {
    for (Variant var : {Variant{true, true, 0.01}, Variant{false, true, 0.01}, Variant{true, false, 0.0},
                        Variant{false, false, 0.1}}) {
      State ref = random_state(n, 11);
      for (CpuIsa isa : isas) {
        State got = random_state(n, 11);
        AdamOptions o;
        o.lr = 3e-3;
        o.adamw = var.adamw;
        o.bias_correction = var.bias_correction;
        o.weight_decay = var.weight_decay;
        if (isa == isas.front()) {
          for (o.step = 1; o.step <= 3; ++o.step) adam_step(o, arrays_of(ref), CpuIsa::kScalar);
        }
        for (o.step = 1; o.step <= 3; ++o.step) adam_step(o, arrays_of(got), isa);
        SCOPED_TRACE(::testing::Message() << to_string(isa) << " n=" << n << " adamw=" << var.adamw
                                          << " bias_correction=" << var.bias_correction);
        EXPECT_TRUE(bit_equal("params", got.params, ref.params));
        EXPECT_TRUE(bit_equal("exp_avg", got.exp_avg, ref.exp_avg));
        EXPECT_TRUE(bit_equal("exp_avg_sq", got.exp_avg_sq, ref.exp_avg_sq));
      }
    }
  }
}

TEST(Adam, HalfCopyIsTheRoundedUpdatedParam) {
  std::vector<CpuIsa> isas = isas_of_this_cpu();
  isas.insert(isas.begin(), CpuIsa::kScalar);
  for (HalfType half : {HalfType::kBf16, HalfType::kFp16}) {
    for (CpuIsa isa : isas) {
      for (std::int64_t n : {1, 17, 100003}) {
        State s = random_state(n, 5);
        AdamOptions o;
        o.step = 4;
        adam_step(o, arrays_of(s, half), isa);
        for (std::size_t i = 0; i < s.params.size(); ++i) {
          const std::uint16_t want = half == HalfType::kBf16 ? bf16_bits(s.params[i]) : fp16_bits(s.params[i]);
          ASSERT_EQ(s.half[i], want) << to_string(isa) << (half == HalfType::kBf16 ? " bf16" : " fp16") << " n=" << n
                                     << " at " << i << " param " << s.params[i];
        }
      }
    }
  }
}

// torch 1.13's .bfloat16() and .half() of these values (printed by /usr/bin/python3); NaN is
// c10::BFloat16's 0x7FC0 (torch's vectorised cast gives 0xFFFF, also a NaN).
struct Rounded {
  float x;
  std::uint16_t bf16, fp16;
};
const Rounded kRounded[] = {
    {1.0f, 0x3F80, 0x3C00},          {1.00390625f, 0x3F80, 0x3C04},       {1.01171875f, 0x3F82, 0x3C0C},
    {1.00048828125f, 0x3F80, 0x3C00}, {1.00146484375f, 0x3F80, 0x3C02},    {3.4028234663852886e+38f, 0x7F80, 0x7C00},
    {1e-40f, 0x0001, 0x0000},        {-0.0f, 0x8000, 0x8000},             {INFINITY, 0x7F80, 0x7C00},
    {-INFINITY, 0xFF80, 0xFC00},     {65504.0f, 0x4780, 0x7BFF},          {65519.0f, 0x4780, 0x7BFF},
    {65520.0f, 0x4780, 0x7C00},      {5.960464477539063e-08f, 0x3380, 0x0001}, {2.9802322387695312e-08f, 0x3300, 0x0000},
    {8.940696716308594e-08f, 0x33C0, 0x0002}, {-2.5f, 0xC020, 0xC100},    {1e-05f, 0x3728, 0x00A8},
    {NAN, 0x7FC0, 0x7E00},           {-NAN, 0x7FC0, 0xFE00},
};

TEST(Adam, RoundingMatchesTorchOnTiesSubnormalsOverflowAndNan) {
  for (const auto& r : kRounded) {
    EXPECT_EQ(bf16_bits(r.x), r.bf16) << r.x;
    EXPECT_EQ(fp16_bits(r.x), r.fp16) << r.x;
  }
  // The same values through each ISA's vector body: lr = 0 and zero moments leave params as
  // they are (p + -0/eps), so the half copy is the rounding of the table's values, at every
  // lane position (the table is laid out at three offsets over 64 elements).
  std::vector<CpuIsa> isas = isas_of_this_cpu();
  isas.insert(isas.begin(), CpuIsa::kScalar);
  const std::size_t count = std::size(kRounded);
  for (CpuIsa isa : isas) {
    for (std::size_t offset : {0u, 5u, 11u}) {
      for (HalfType half : {HalfType::kBf16, HalfType::kFp16}) {
        State s = random_state(64, 1);
        std::fill(s.grads.begin(), s.grads.end(), 0.0f);
        std::fill(s.exp_avg.begin(), s.exp_avg.end(), 0.0f);
        std::fill(s.exp_avg_sq.begin(), s.exp_avg_sq.end(), 0.0f);
        for (std::size_t i = 0; i < 64; ++i) s.params[i] = kRounded[(i + offset) % count].x;
        AdamOptions o;
        o.lr = 0;
        adam_step(o, arrays_of(s, half), isa);
        for (std::size_t i = 0; i < 64; ++i) {
          const Rounded& r = kRounded[(i + offset) % count];
          EXPECT_EQ(s.half[i], half == HalfType::kBf16 ? r.bf16 : r.fp16)
              << to_string(isa) << " lane " << i << " value " << r.x;
        }
      }
    }
  }
}

TEST(Adam, AnIsaThisCpuLacksIsRefused) {
  const CpuIsa best = choose_cpu_isa(detect_cpu_features(), "");
  if (best == CpuIsa::kAvx512) GTEST_SKIP() << "this CPU has every ISA ds compiles for";
  State s = random_state(4, 1);
  try {
    adam_step(AdamOptions{}, arrays_of(s), CpuIsa::kAvx512);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), std::string("adam_step: isa: this CPU lacks the instruction set asked for (got avx512); "
                                                 "expected at most ") + to_string(best));
  }
}

struct BadCase {
  const char* name;
  void (*mutate)(AdamOptions&, AdamArrays&);
  const char* message;
};

const BadCase kBad[] = {
    {"negative lr", [](AdamOptions& o, AdamArrays&) { o.lr = -0.1; },
     "adam_step: lr: out of range (got -0.1); expected a finite value >= 0; hint: torch.optim.AdamW accepts the same ranges"},
    {"nan lr", [](AdamOptions& o, AdamArrays&) { o.lr = NAN; },
     "adam_step: lr: out of range (got nan); expected a finite value >= 0; hint: torch.optim.AdamW accepts the same ranges"},
    {"beta1 = 1", [](AdamOptions& o, AdamArrays&) { o.beta1 = 1.0; },
     "adam_step: beta1: out of range (got 1); expected a value in [0, 1); hint: torch.optim.AdamW accepts the same ranges"},
    {"negative beta2", [](AdamOptions& o, AdamArrays&) { o.beta2 = -0.5; },
     "adam_step: beta2: out of range (got -0.5); expected a value in [0, 1); hint: torch.optim.AdamW accepts the same ranges"},
    {"negative eps", [](AdamOptions& o, AdamArrays&) { o.eps = -1e-8; },
     "adam_step: eps: out of range (got -1e-08); expected a finite value >= 0; hint: torch.optim.AdamW accepts the same ranges"},
    {"negative weight decay", [](AdamOptions& o, AdamArrays&) { o.weight_decay = -0.01; },
     "adam_step: weight_decay: out of range (got -0.01); expected a finite value >= 0; hint: torch.optim.AdamW accepts the same ranges"},
    {"step 0", [](AdamOptions& o, AdamArrays&) { o.step = 0; },
     "adam_step: step: out of range (got 0); expected a 1-based step >= 1; hint: increment the step count before the first call"},
    {"negative n", [](AdamOptions&, AdamArrays& a) { a.n = -3; },
     "adam_step: n: negative length (got -3); expected >= 0"},
    {"null grads", [](AdamOptions&, AdamArrays& a) { a.grads = nullptr; },
     "adam_step: grads: null pointer for 8 elements (got nullptr); expected an array of n floats"},
    {"null exp_avg_sq", [](AdamOptions&, AdamArrays& a) { a.exp_avg_sq = nullptr; },
     "adam_step: exp_avg_sq: null pointer for 8 elements (got nullptr); expected an array of n floats"},
    {"half without output", [](AdamOptions&, AdamArrays& a) { a.half_type = HalfType::kBf16, a.params_half = nullptr; },
     "adam_step: params_half: a half copy was asked for without an output array (got nullptr); expected an array of "
     "n uint16; hint: or set half_type to HalfType::kNone"},
};

TEST(Adam, BadArgumentsGiveTheHouseErrorAndTouchNothing) {
  for (const auto& bad : kBad) {
    State s = random_state(8, 3);
    const State before = s;
    AdamOptions o;
    AdamArrays a = arrays_of(s);
    bad.mutate(o, a);
    try {
      adam_step(o, a);
      ADD_FAILURE() << bad.name << ": no error";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()), bad.message) << bad.name;
    }
    EXPECT_EQ(s.params, before.params) << bad.name;
  }
}

TEST(Adam, EmptyArraysNeedNoPointers) {
  AdamArrays a;
  a.half_type = HalfType::kNone;
  EXPECT_NO_THROW(adam_step(AdamOptions{}, a));
}

}  // namespace
}  // namespace ds::kernels
