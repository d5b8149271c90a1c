// ZeRO-3 parameter chunks on NVMe: what is written comes back (in the model dtype), reads ahead
// are used and counted, the buffer cache evicts the least recently used chunk but never the one
// just handed out, and bad sizes are refused naming the key.
#include "engine/offload/swapped_params.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.hpp"
#include "engine/offload/host_tier.hpp"
#include "engine/offload/swap_file.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::offload {
namespace {

namespace fs = std::filesystem;

NvmeOptions options_in(const fs::path& dir, int buffers) {
  NvmeOptions o;
  o.nvme_path = dir;
  o.key = "zero_optimization.offload_param.nvme_path";
  o.buffer_count = buffers;
  o.tag = "rank0-params";
  return o;
}

torch::Tensor ramp(std::int64_t n, float start) { return torch::arange(n, torch::kFloat) * 0.5 + start; }

TEST(SwappedParams, WhatIsWrittenIsFetchedBackInTheModelDtype) {
  test::ScratchDir dir("swapped-params");
  const std::vector<std::int64_t> chunks = {3000, 1, 2049, 700};
  const std::int64_t host_before = HostTier::current_bytes();
  {
    SwappedParams params(options_in(dir.path(), 2), 1 << 20, chunks, torch::kBFloat16);
    // bf16: whole 4 KiB blocks per chunk (6000 -> 8192 bytes, 2 -> 4096, 4098 -> 8192, 1400 -> 4096).
    EXPECT_EQ(params.file_bytes(), 8192 + 4096 + 8192 + 4096);
    EXPECT_EQ(params.buffer_numel(), 4096);
    EXPECT_EQ(HostTier::current_bytes() - host_before, 2 * 8192);
    for (std::size_t b = 0; b < chunks.size(); ++b) {
      EXPECT_TRUE(params.fetch(b).eq(0).all().item<bool>()) << "new chunks are zeros";
    }
    for (std::size_t b = 0; b < chunks.size(); ++b) params.write(b, ramp(chunks[b], static_cast<float>(b)));
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t b = 0; b < chunks.size(); ++b) {
        torch::Tensor got = params.fetch(b);
        ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
        ASSERT_EQ(got.numel(), chunks[b]);
        EXPECT_TRUE(got.equal(ramp(chunks[b], static_cast<float>(b)).to(torch::kBFloat16))) << "bucket " << b;
      }
    }
    EXPECT_THROW(params.write(0, torch::zeros({10})), RuntimeError);
  }
  EXPECT_EQ(HostTier::current_bytes(), host_before);
  EXPECT_TRUE(fs::is_empty(dir.path())) << "the swap directory goes with the object";
}

TEST(SwappedParams, ReadsAheadWhatIsFetchedNextAndCountsIt) {
  test::ScratchDir dir("swapped-params");
  const std::vector<std::int64_t> chunks = {1024, 1024, 1024, 1024};
  SwappedParams params(options_in(dir.path(), 2), 1024, chunks, torch::kFloat);
  for (std::size_t b = 0; b < chunks.size(); ++b) params.write(b, ramp(1024, 10.0f * b));
  // Only buckets 2 and 3 are in the two buffers now; forward order from bucket 0 with a read ahead.
  const std::int64_t reads_before = params.reads();
  for (std::size_t b = 0; b < chunks.size(); ++b) {
    torch::Tensor got = params.fetch(b);
    EXPECT_TRUE(got.equal(ramp(1024, 10.0f * b))) << "bucket " << b;
    if (b + 1 < chunks.size()) params.prefetch(b + 1);
  }
  EXPECT_EQ(params.reads() - reads_before, 4) << "one read per chunk, none twice";
  EXPECT_EQ(params.prefetch_hits(), 3);
  // Backward order: 3 and 2 are still in the buffers, 1 and 0 are read ahead again.
  for (std::size_t b = chunks.size(); b-- > 0;) {
    EXPECT_TRUE(params.fetch(b).equal(ramp(1024, 10.0f * b))) << "bucket " << b;
    if (b > 0) params.prefetch(b - 1);
  }
  // A chunk already in a buffer is not read again.
  const std::int64_t reads = params.reads();
  params.prefetch(0);
  params.fetch(0);
  EXPECT_EQ(params.reads(), reads);
}

TEST(SwappedParams, PrefetchNeverEvictsTheChunkJustFetched) {
  test::ScratchDir dir("swapped-params");
  SwappedParams params(options_in(dir.path(), 2), 1024, {1024, 1024, 1024}, torch::kFloat);
  for (std::size_t b = 0; b < 3; ++b) params.write(b, ramp(1024, 100.0f * b));
  torch::Tensor zero = params.fetch(0);
  params.prefetch(1);
  params.prefetch(2);  // evicts 1 (read ahead, not fetched), never 0
  EXPECT_TRUE(zero.equal(ramp(1024, 0))) << "the view handed out still holds bucket 0";
  const std::int64_t reads = params.reads();
  params.fetch(2);
  params.fetch(0);
  EXPECT_EQ(params.reads(), reads) << "0 and 2 were both in buffers";
}

TEST(SwappedParams, OneBufferWorksWithoutReadingAhead) {
  test::ScratchDir dir("swapped-params");
  SwappedParams params(options_in(dir.path(), 1), 1024, {1024, 1024}, torch::kFloat);
  params.write(0, ramp(1024, 1));
  params.write(1, ramp(1024, 2));
  params.prefetch(0);
  EXPECT_EQ(params.prefetch_hits(), 0);
  EXPECT_TRUE(params.fetch(0).equal(ramp(1024, 1)));
  EXPECT_TRUE(params.fetch(1).equal(ramp(1024, 2)));
}

TEST(SwappedParams, RefusesBuffersThatCannotHoldAChunk) {
  test::ScratchDir dir("swapped-params");
  try {
    SwappedParams(options_in(dir.path(), 5), 1000, {500, 1200}, torch::kBFloat16);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("zero_optimization.offload_param.buffer_size"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(">= 1200"), std::string::npos) << e.what();
  }
  try {
    SwappedParams(options_in(dir.path(), 0), 1000, {500}, torch::kBFloat16);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("zero_optimization.offload_param.buffer_count"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SwappedParams(options_in(dir.path() / "missing", 2), 1000, {500}, torch::kFloat), RuntimeError);
}

}  // namespace
}  // namespace ds::engine::offload
