// ds's Adam kernel against torch.optim.Adam / AdamW (torch 1.13, foreach=False) over 100 steps
// of the same gradients: the trajectories are computed independently by tests/kernels/
// adam_reference.py with Debian's python3-torch and compared within a tolerance.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/cpu/adam.hpp"
#include "tests/support/run_ds.hpp"

namespace ds::kernels {
namespace {

constexpr std::int64_t kN = 1031;  // odd: every ISA's vector body and its scalar tail
constexpr int kSteps = 100;
constexpr int kPythonSkip = 77;
// Normwise (max |ds - torch| / max |torch|) after 100 steps: measured 0.4-1.8e-7, about one ulp
// of the largest value, since torch's vectorised add/addcmul fuse a multiply-add where ds rounds
// twice. 1e-6 leaves room for other torch builds; a step off by one is 1.7e-4 or more.
constexpr double kTolerance = 1e-6;

struct Trajectory {
  std::vector<float> params, exp_avg, exp_avg_sq;
};

struct Case {
  const char* name;
  AdamOptions options;
};

// Gradients that change sign and scale from step to step, with exact zeros (denominators near eps).
std::vector<float> initial_and_grads(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out;
  for (std::int64_t i = 0; i < kN; ++i) out.push_back(normal(rng));
  for (int s = 0; s < kSteps; ++s) {
    const float scale = 1e-3f * static_cast<float>(1 + s % 7);
    for (std::int64_t i = 0; i < kN; ++i) out.push_back((i + s) % 17 == 0 ? 0.0f : scale * normal(rng));
  }
  return out;
}

Trajectory run_ds(const AdamOptions& base, const std::vector<float>& data, CpuIsa isa, std::int64_t step_offset = 0) {
  Trajectory t;
  t.params.assign(data.begin(), data.begin() + kN);
  t.exp_avg.assign(kN, 0.0f);
  t.exp_avg_sq.assign(kN, 0.0f);
  AdamOptions o = base;
  for (int s = 0; s < kSteps; ++s) {
    o.step = s + 1 + step_offset;
    AdamArrays a{.params = t.params.data(), .grads = data.data() + (s + 1) * kN, .exp_avg = t.exp_avg.data(),
                 .exp_avg_sq = t.exp_avg_sq.data(), .n = kN};
    adam_step(o, a, isa);
  }
  return t;
}

// Largest |got - want| over the largest |want|: a normwise error, so values that cross zero
// (relative error unbounded) count by the array's scale.
double max_error(const std::vector<float>& got, const std::vector<float>& want, std::size_t* at) {
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    const double e = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(e <= worst)) {
      worst = std::isnan(e) ? INFINITY : e;
      *at = i;
    }
  }
  return worst / scale;
}

class AdamVsTorch : public ::testing::TestWithParam<Case> {};

TEST_P(AdamVsTorch, HundredStepsFollowTorch) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const Case& c = GetParam();
  const auto dir = std::filesystem::temp_directory_path() / ("ds-adam-torch-" + std::to_string(::getpid()) + c.name);
  std::filesystem::create_directories(dir);
  const std::vector<float> data = initial_and_grads(31);
  std::ofstream(dir / "in.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
  const AdamOptions& o = c.options;
  std::ostringstream args;
  args << "'" << DS_SOURCE_DIR << "/tests/kernels/adam_reference.py' '" << (dir / "in.bin").string() << "' '"
       << (dir / "out.bin").string() << "' " << kN << " " << kSteps << " " << o.lr << " " << o.beta1 << " " << o.beta2
       << " " << o.eps << " " << o.weight_decay << " " << (o.adamw ? 1 : 0);
  const auto run = test::run_program("/usr/bin/python3", args.str());
  if (run.code == kPythonSkip) GTEST_SKIP() << run.output();
  ASSERT_EQ(run.code, 0) << run.output();
  std::vector<float> out(3 * kN);
  std::ifstream(dir / "out.bin", std::ios::binary)
      .read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
  std::filesystem::remove_all(dir);
  const Trajectory want{{out.begin(), out.begin() + kN}, {out.begin() + kN, out.begin() + 2 * kN},
                        {out.begin() + 2 * kN, out.end()}};

  const Trajectory got = run_ds(o, data, cpu_isa());
  std::size_t at = 0;
  const double params_error = max_error(got.params, want.params, &at);
  EXPECT_LT(params_error, kTolerance) << "params[" << at << "] = " << got.params[at] << ", torch " << want.params[at];
  const double m_error = max_error(got.exp_avg, want.exp_avg, &at);
  const double v_error = max_error(got.exp_avg_sq, want.exp_avg_sq, &at);
  EXPECT_LT(m_error, kTolerance);
  EXPECT_LT(v_error, kTolerance);

  // The tolerance must tell a wrong step from a right one: the same run with the step count off
  // by one (bias correction one step late) is far outside it.
  const Trajectory off = run_ds(o, data, cpu_isa(), 1);
  EXPECT_GT(max_error(off.params, want.params, &at), 100 * kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Torch, AdamVsTorch,
    ::testing::Values(Case{"AdamW", {.lr = 1e-3, .weight_decay = 0.01}},
                      Case{"AdamL2", {.lr = 1e-3, .weight_decay = 0.01, .adamw = false}},
                      Case{"AdamWLargeLr", {.lr = 3e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1}},
                      Case{"AdamNoDecay", {.lr = 1e-2, .beta2 = 0.95, .adamw = false}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ds::kernels
