// `ds estimate memory` against measured peaks: a few short CPU runs of `ds train --json`, each
// reporting the exact peak of live tensor bytes (the counting allocator) beside the estimator's
// tensor peak for the same plan. The full matrix is scripts/validate-estimator (docs/estimator.md).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/run_ds.hpp"

namespace ds::test {
namespace {

namespace fs = std::filesystem;

class EstimatorValidation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("ds_estval_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    DsRun r = run_ds("data prepare --input /usr/share/common-licenses/GPL-3 --out '" + (*dir_ / "lic.bin").string() + "' -q");
    ASSERT_EQ(r.code, 0) << r.output();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }

  // predicted / measured peak of a 2-step run with `args`.
  static double ratio(const std::string& name, const std::string& args) {
    const fs::path out = *dir_ / name;
    DsRun r = run_ds("train --data '" + (*dir_ / "lic.bin").string() + "' --steps 2 --json -q --out '" + out.string() +
                         "' " + args,
                     "DS_HOME='" + (*dir_ / "home").string() + "'");
    EXPECT_EQ(r.code, 0) << r.output();
    auto j = nlohmann::json::parse(r.out);
    double measured = j.at("peak_bytes").get<double>();
    EXPECT_GT(measured, 0);
    return j.at("predicted_peak_bytes").get<double>() / measured;
  }

  static fs::path* dir_;
};

fs::path* EstimatorValidation::dir_ = nullptr;

constexpr double kTolerance = 0.05;

TEST_F(EstimatorValidation, LlamaFp32) {
  EXPECT_NEAR(ratio("tiny_fp32", "--model ds-tiny --micro-batch 4 --seq 128 --dtype fp32"), 1.0, kTolerance);
}

TEST_F(EstimatorValidation, LlamaBf16FullCheckpointing) {
  EXPECT_NEAR(ratio("tiny_bf16_full", "--model ds-tiny --micro-batch 8 --seq 128 --dtype bf16 "
                                      "--set ds.activation_checkpointing=full"),
              1.0, kTolerance);
}

TEST_F(EstimatorValidation, LlamaSgdMomentumEvery2GradAccum) {
  EXPECT_NEAR(ratio("tiny_sgd", "--model ds-tiny --micro-batch 2 --seq 96 --dtype fp32 --grad-accum 2 "
                                "--set ds.activation_checkpointing=every-2 --set optimizer.type=SGD "
                                "--set optimizer.params.momentum=0.9"),
              1.0, kTolerance);
}

TEST_F(EstimatorValidation, Gpt2Bf16) {
  EXPECT_NEAR(ratio("small_bf16", "--model ds-small --micro-batch 1 --seq 64 --dtype bf16"), 1.0, kTolerance);
}

}  // namespace
}  // namespace ds::test
