// The tune suite's regret from `ds tune --measure --json` output.
#include "bench/tune_regret.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ds::bench {
namespace {

nlohmann::json plan(int rank, const char* status, double seconds) {
  nlohmann::json j = {{"rank", rank}, {"status", status}, {"measured_s", seconds}};
  if (seconds <= 0) j["measured_s"] = nullptr;
  return j;
}

nlohmann::json measured(std::initializer_list<nlohmann::json> plans) { return {{"plans", nlohmann::json(plans)}}; }

TEST(TuneRegret, ZeroWhenTheFirstChoiceIsTheFastest) {
  EXPECT_DOUBLE_EQ(tune_regret(measured({plan(1, "ok", 0.2), plan(2, "ok", 0.3), plan(3, "ok", 0.25)})), 0.0);
}

TEST(TuneRegret, ThroughputLostAgainstTheBestPlan) {
  // The first choice takes 0.4 s a step where 0.3 s was possible: a quarter of the throughput lost.
  EXPECT_DOUBLE_EQ(tune_regret(measured({plan(1, "ok", 0.4), plan(2, "ok", 0.3), plan(5, "ok", 0.5)})), 0.25);
  // Failed plans do not count as the best one.
  EXPECT_DOUBLE_EQ(tune_regret(measured({plan(1, "ok", 0.4), plan(2, "oom", 0), plan(3, "failed", 0.1)})), 0.0);
}

TEST(TuneRegret, AFailedFirstChoiceLosesEverything) {
  EXPECT_DOUBLE_EQ(tune_regret(measured({plan(1, "oom", 0), plan(2, "ok", 0.3)})), 1.0);
}

TEST(TuneRegret, OutputItCannotJudgeIsAnError) {
  EXPECT_THROW(tune_regret(nlohmann::json::object()), RuntimeError);
  EXPECT_THROW(tune_regret(measured({plan(2, "ok", 0.3)})), RuntimeError) << "rank 1 missing";
  EXPECT_THROW(tune_regret(measured({plan(1, "failed", 0), plan(2, "oom", 0)})), RuntimeError) << "nothing ran";
}

}  // namespace
}  // namespace ds::bench
