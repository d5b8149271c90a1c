#include "profiles/profile_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"
#include "profiles/store.hpp"

namespace ds::profiles {
namespace {

Profile sample(const std::string& cpu = "Test CPU") {
  Profile p;
  p.machine.cpu_model = cpu;
  p.machine.cpu_cores = 2;
  p.machine.cpu_threads = 2;
  p.machine.memory_bytes = 24ull << 30;
  p.machine.simd = "avx2";
  p.quick = true;
  p.measurements = {{"cpu.gemm", {{"dtype", "fp32"}, {"m", 512}}, 150.5, "GFLOP/s", 0.02, 5},
                    {"cpu.gemm", {{"dtype", "bf16"}, {"m", 512}}, 20.25, "GFLOP/s", 0.05, 5},
                    {"cpu.stream_triad", {{"threads", 2}}, 19.0, "GB/s", 0.01, 8}};
  p.skipped = {{"gpu", "LibTorch reports no CUDA device"}};
  return p;
}

}  // namespace

TEST(ProfileStore, SaveLoadRoundTrip) {
  Store store(":memory:");
  std::int64_t id = save_profile(store, sample());
  Profile back = load_profile(store, std::to_string(id));
  EXPECT_EQ(back.id, id);
  EXPECT_EQ(back.machine.cpu_model, "Test CPU");
  EXPECT_EQ(back.machine.fingerprint(), sample().machine.fingerprint());
  ASSERT_EQ(back.measurements.size(), 3u);
  EXPECT_EQ(back.measurements[1].params["dtype"], "bf16");
  EXPECT_DOUBLE_EQ(back.measurements[1].value, 20.25);
  ASSERT_EQ(back.skipped.size(), 1u);
  EXPECT_EQ(back.skipped[0].reason, "LibTorch reports no CUDA device");
  EXPECT_TRUE(back.quick);
  EXPECT_FALSE(back.created_at.empty());
  ASSERT_NE(back.find("cpu.gemm", {{"dtype", "bf16"}}), nullptr);
  EXPECT_DOUBLE_EQ(back.find("cpu.gemm", {{"dtype", "bf16"}})->value, 20.25);
  EXPECT_EQ(back.find("cpu.gemm", {{"dtype", "fp16"}}), nullptr);
}

TEST(ProfileStore, LatestPerMachineAndList) {
  Store store(":memory:");
  save_profile(store, sample("A"));
  std::int64_t b = save_profile(store, sample("B"));
  std::int64_t a2 = save_profile(store, sample("A"));
  EXPECT_EQ(load_profile(store, "latest").id, a2);
  EXPECT_EQ(load_profile(store, "latest", sample("B").machine.fingerprint()).id, b);
  auto list = list_profiles(store);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].cpu_model, "A");
  EXPECT_EQ(list[0].measurements, 3);
  EXPECT_EQ(list[0].gpus, "-");
  EXPECT_EQ(list[0].fingerprint, list[2].fingerprint);  // one machine row, two profiles
}

TEST(ProfileStore, MissingProfilesAreClearErrors) {
  Store store(":memory:");
  try {
    load_profile(store, "latest");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), ":memory:: no profile 'latest' (got none stored yet); hint: run `ds profile` (or `ds profile --quick`) to measure this machine");
  }
  save_profile(store, sample());
  try {
    load_profile(store, "7");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), ":memory:: no profile '7' (got 1 stored (ids 1..1)); hint: run `ds profile` (or `ds profile --quick`) to measure this machine");
  }
  try {
    load_profile(store, "abc");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "profile: not a profile id (got 'abc'); expected a number from `ds profile list` or 'latest'");
  }
}

TEST(ProfileStore, ExportImportCarriesAProfileBetweenDatabases) {
  Store gpu_node(":memory:");
  Profile p = sample();
  p.machine.gpus = {{"NVIDIA H100 80GB HBM3", 80ull << 30, 132}};
  auto exported = profile_to_json(load_profile(gpu_node, std::to_string(save_profile(gpu_node, p))));
  Store laptop(":memory:");
  Profile imported = profile_from_json(nlohmann::json::parse(exported.dump()), "h100.json");
  std::int64_t id = save_profile(laptop, imported);
  Profile back = load_profile(laptop, std::to_string(id));
  EXPECT_EQ(back.imported_from, "h100.json");
  EXPECT_EQ(back.machine.fingerprint(), p.machine.fingerprint());
  ASSERT_EQ(back.machine.gpus.size(), 1u);
  EXPECT_EQ(back.machine.gpus[0].sm_count, 132);
  EXPECT_EQ(back.measurements.size(), 3u);
  EXPECT_EQ(list_profiles(laptop)[0].gpus, "1x NVIDIA H100 80GB HBM3");
}

TEST(ProfileStore, ImportRejectsOtherJson) {
  try {
    profile_from_json({{"hello", 1}}, "x.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "x.json: not a ds profile export; expected a JSON object with \"format\": \"ds-profile\"; hint: create one with `ds --json profile export ID > file.json`");
  }
  EXPECT_THROW(profile_from_json({{"format", "ds-profile"}, {"machine", 3}}, "y.json"), ConfigError);
}

}  // namespace ds::profiles
