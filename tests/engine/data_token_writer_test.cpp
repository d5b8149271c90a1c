#include "engine/data/token_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::data {
namespace {

namespace fs = std::filesystem;

/// llm.c's file (karpathy/llm.c dev/data/data_common.py write_datafile), built independently:
/// 256 little-endian int32 (magic, version, token count, zeros), then the tokens little-endian
/// in `width` bytes each, which after the header is nanoGPT's raw `np.uint16` array for width 2.
std::string llmc_bytes(std::int32_t magic, std::int32_t version, const std::vector<std::uint32_t>& tokens,
                       int width) {
  std::string out(1024, '\0');
  const std::int64_t fields[3] = {magic, version, static_cast<std::int64_t>(tokens.size())};
  for (int f = 0; f < 3; ++f) {
    for (int b = 0; b < 4; ++b) out[4 * f + b] = static_cast<char>((fields[f] >> (8 * b)) & 0xff);
  }
  for (std::uint32_t t : tokens) {
    for (int b = 0; b < width; ++b) out += static_cast<char>((t >> (8 * b)) & 0xff);
  }
  return out;
}

class TokenWriterTest : public ::testing::Test {
 protected:
  std::vector<std::int64_t> all(const TokenFile& f) {
    std::vector<std::int64_t> v(f.size());
    f.read(0, f.size(), v.data());
    return v;
  }

  test::ScratchDir scratch_{"token-writer"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(TokenWriterTest, WritesLlmcGpt2HeaderAndUint16TokensByteForByte) {
  TokenFileMeta meta;
  meta.format = TokenFileFormat::kRaw;  // both set by the writer from the vocabulary
  meta.dtype = TokenDtype::kUint32;
  meta.vocab_size = 65536;  // the largest vocabulary uint16 holds
  meta.tokenizer = "gpt2";
  meta.eot_id = 50256;
  const std::vector<std::uint32_t> tokens = {0, 1, 256, 65535, 50256};
  TokenFileMeta written = write_token_file(dir_ / "g.bin", tokens, meta);
  EXPECT_EQ(read_file(dir_ / "g.bin"), llmc_bytes(20240520, 1, tokens, 2));
  EXPECT_EQ(written.format, TokenFileFormat::kLlmc);
  EXPECT_EQ(written.dtype, TokenDtype::kUint16);
  EXPECT_EQ(written.num_tokens, 5);
  EXPECT_EQ(nlohmann::json::parse(read_file(dir_ / "g.bin.json")), nlohmann::json::parse(R"(
      {"format": "llm.c", "dtype": "uint16", "num_tokens": 5, "vocab_size": 65536, "tokenizer": "gpt2",
       "eot_id": 50256})"));
}

TEST_F(TokenWriterTest, WritesLlmcLlama3HeaderAndUint32TokensByteForByte) {
  TokenFileMeta meta;
  meta.vocab_size = 65537;
  const std::vector<std::uint32_t> tokens = {65536, 7, 0x0102};
  write_token_file(dir_ / "l.bin", tokens, meta);
  EXPECT_EQ(read_file(dir_ / "l.bin"), llmc_bytes(20240801, 7, tokens, 4));
  EXPECT_EQ(nlohmann::json::parse(read_file(dir_ / "l.bin.json"))["eot_id"], nullptr);
}

TEST_F(TokenWriterTest, MovesATailThatSpansFlushedAndBufferedTokens) {
  // 4 MiB of uint16 is 2^21 tokens: appending more flushes to disk, the rest stays buffered.
  TokenFileMeta meta;
  meta.vocab_size = 65536;
  std::vector<std::uint32_t> ids(2'100'000);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::uint32_t>(i % 65536);
  TokenFileWriter a(dir_ / "train.bin", meta);
  TokenFileWriter b(dir_ / "val.bin", meta);
  a.append(ids);
  a.append(std::vector<std::uint32_t>{11, 12, 13});
  a.move_tail_to(2'000'000, b);
  EXPECT_EQ(a.size(), 2'000'000);
  EXPECT_EQ(b.size(), 100'003);
  a.commit();
  b.commit();
  std::vector<std::uint32_t> head(ids.begin(), ids.begin() + 2'000'000);
  std::vector<std::uint32_t> tail(ids.begin() + 2'000'000, ids.end());
  tail.insert(tail.end(), {11, 12, 13});
  EXPECT_TRUE(read_file(dir_ / "train.bin") == llmc_bytes(20240520, 1, head, 2));
  EXPECT_TRUE(read_file(dir_ / "val.bin") == llmc_bytes(20240520, 1, tail, 2));
}

TEST_F(TokenWriterTest, BadVocabularyAndIdsGetExactMessages) {
  TokenFileMeta meta;
  try {
    TokenFileWriter w(dir_ / "z.bin", meta);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "z.bin").string() + ": token file writer needs the vocabulary size (got 0); expected > 0");
  }
  meta.vocab_size = 300;
  TokenFileWriter w(dir_ / "w.bin", meta);
  try {
    w.append(std::vector<std::uint32_t>{300});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "w.bin").string() + ": token id outside the tokenizer's vocabulary (got 300); expected ids below 300");
  }
  EXPECT_EQ(w.size(), 0);
}

// Every id is checked before any is buffered: the ids before a rejected one must not reach the
// file (they would be written at an offset below the tokens counted so far).
TEST_F(TokenWriterTest, ARejectedAppendAppendsNothing) {
  TokenFileMeta meta;
  meta.vocab_size = 300;
  TokenFileWriter w(dir_ / "r.bin", meta);
  std::vector<std::uint32_t> bad(600, 1);
  bad.push_back(300);
  EXPECT_THROW(w.append(bad), RuntimeError);
  w.append(std::vector<std::uint32_t>{5});
  EXPECT_EQ(w.size(), 1);
  w.commit();
  EXPECT_EQ(read_file(dir_ / "r.bin"), llmc_bytes(20240520, 1, {5}, 2));
}

TEST_F(TokenWriterTest, RoundTripsWithSidecarAndLeavesNoTemporaries) {
  std::vector<std::uint32_t> tokens(5000);
  std::iota(tokens.begin(), tokens.end(), 0u);
  for (auto& t : tokens) t %= 257;
  TokenFileMeta meta;
  meta.vocab_size = 257;
  meta.tokenizer = "byte";
  meta.eot_id = 256;
  auto p = dir_ / "sub" / "w.bin";
  auto written = write_token_file(p, tokens, meta);
  EXPECT_EQ(written.num_tokens, 5000);
  EXPECT_EQ(written.dtype, TokenDtype::kUint16);
  auto f = TokenFile::open(p, {.dtype = std::nullopt, .check_vocab_size = 257});
  EXPECT_EQ(f.info().format, TokenFileFormat::kLlmc);
  EXPECT_EQ(f.info().meta->tokenizer, "byte");
  EXPECT_EQ(f.info().meta->eot_id, 256);
  EXPECT_EQ(f.info().meta->num_tokens, 5000);
  auto got = all(f);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), tokens.begin()));
  int files = 0;
  for (auto& e : fs::directory_iterator(dir_ / "sub")) files += e.is_regular_file();
  EXPECT_EQ(files, 2);  // w.bin and w.bin.json
}

TEST_F(TokenWriterTest, UsesUint32ForLargeVocabularies) {
  TokenFileMeta meta;
  meta.vocab_size = 128256;
  auto p = dir_ / "big.bin";
  write_token_file(p, std::vector<std::uint32_t>{128255, 70000, 1}, meta);
  auto f = TokenFile::open(p);
  EXPECT_EQ(f.info().dtype, TokenDtype::kUint32);
  EXPECT_EQ(all(f), (std::vector<std::int64_t>{128255, 70000, 1}));
}

TEST_F(TokenWriterTest, MovesTheTailAndCleansUpWithoutCommit) {
  TokenFileMeta meta;
  meta.vocab_size = 300;
  {
    TokenFileWriter a(dir_ / "a.bin", meta);
    TokenFileWriter b(dir_ / "b.bin", meta);
    std::vector<std::uint32_t> ids = {5, 6, 7, 8, 9, 299};
    a.append(ids);
    a.move_tail_to(4, b);
    EXPECT_EQ(a.size(), 4);
    EXPECT_EQ(b.size(), 2);
    a.commit();
    b.commit();
  }
  EXPECT_EQ(all(TokenFile::open(dir_ / "a.bin")), (std::vector<std::int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(all(TokenFile::open(dir_ / "b.bin")), (std::vector<std::int64_t>{9, 299}));
  { TokenFileWriter abandoned(dir_ / "c.bin", meta); }
  EXPECT_FALSE(fs::exists(dir_ / "c.bin"));
  std::size_t entries = std::distance(fs::directory_iterator(dir_), fs::directory_iterator{});
  EXPECT_EQ(entries, 4u);  // a.bin, b.bin and their sidecars; no .tmp left
  TokenFileWriter w(dir_ / "d.bin", meta);
  std::vector<std::uint32_t> bad = {300};
  EXPECT_THROW(w.append(bad), RuntimeError);
}

}  // namespace
}  // namespace ds::engine::data
