#include "engine/data/token_file.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "engine/data/token_writer.hpp"
#include "tests/engine/train_test_util.hpp"

namespace ds::engine::data {
namespace {

namespace fs = std::filesystem;

class TokenFileTest : public ::testing::Test {
 protected:

  /// Writes bytes exactly as given: these files are made independently of TokenFileWriter.
  fs::path write_bytes(const std::string& name, const void* data, std::size_t bytes) {
    fs::path p = dir_ / name;
    std::ofstream out(p, std::ios::binary);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    return p;
  }
  template <typename T>
  fs::path write_raw(const std::string& name, const std::vector<T>& tokens) {
    return write_bytes(name, tokens.data(), tokens.size() * sizeof(T));
  }
  template <typename T>
  fs::path write_llmc(const std::string& name, std::int32_t magic, std::int32_t version, std::int32_t count,
                      const std::vector<T>& tokens) {
    std::vector<char> bytes(kLlmcHeaderBytes + tokens.size() * sizeof(T));
    std::int32_t header[3] = {magic, version, count};
    std::memcpy(bytes.data(), header, sizeof header);
    if (!tokens.empty()) std::memcpy(bytes.data() + kLlmcHeaderBytes, tokens.data(), tokens.size() * sizeof(T));
    return write_bytes(name, bytes.data(), bytes.size());
  }
  std::vector<std::int64_t> all(const TokenFile& f) {
    std::vector<std::int64_t> v(f.size());
    f.read(0, f.size(), v.data());
    return v;
  }
  std::string error_of(const fs::path& p, const TokenFileOptions& options = {}) {
    try {
      TokenFile::open(p, options);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  test::ScratchDir scratch_{"token-file"};
  const fs::path& dir_ = scratch_.path();
};

TEST_F(TokenFileTest, ReadsNanoGptRawUint16) {
  auto p = write_raw<std::uint16_t>("raw.bin", {1, 2, 65535, 0, 7});
  auto f = TokenFile::open(p);
  EXPECT_EQ(f.info().format, TokenFileFormat::kRaw);
  EXPECT_EQ(f.info().dtype, TokenDtype::kUint16);
  EXPECT_EQ(all(f), (std::vector<std::int64_t>{1, 2, 65535, 0, 7}));
  EXPECT_EQ(f.at(2), 65535u);
}

TEST_F(TokenFileTest, ReadsRawUint32WhenToldOrFromTheSidecar) {
  auto p = write_raw<std::uint32_t>("raw32.bin", {100000, 3, 128255});
  TokenFileOptions options;
  options.dtype = TokenDtype::kUint32;
  EXPECT_EQ(all(TokenFile::open(p, options)), (std::vector<std::int64_t>{100000, 3, 128255}));
  write_file_atomic(sidecar_path(p), R"({"format": "raw", "dtype": "uint32", "vocab_size": 128256})");
  auto f = TokenFile::open(p);
  EXPECT_EQ(f.info().dtype, TokenDtype::kUint32);
  ASSERT_TRUE(f.info().meta.has_value());
  EXPECT_EQ(f.info().meta->vocab_size, 128256);
  EXPECT_EQ(all(f), (std::vector<std::int64_t>{100000, 3, 128255}));
}

TEST_F(TokenFileTest, DetectsLlmcGpt2AndLlama3Headers) {
  auto gpt2 = TokenFile::open(write_llmc<std::uint16_t>("g.bin", 20240520, 1, 4, {50256, 1, 2, 3}));
  EXPECT_EQ(gpt2.info().format, TokenFileFormat::kLlmc);
  EXPECT_EQ(gpt2.info().header_bytes, 1024u);
  EXPECT_EQ(all(gpt2), (std::vector<std::int64_t>{50256, 1, 2, 3}));
  auto llama = TokenFile::open(write_llmc<std::uint32_t>("l.bin", 20240801, 7, 2, {128000, 9}));
  EXPECT_EQ(llama.info().dtype, TokenDtype::kUint32);
  EXPECT_EQ(all(llama), (std::vector<std::int64_t>{128000, 9}));
}

TEST_F(TokenFileTest, ErrorsNameTheFileAndTheProblem) {
  const std::string d = dir_.string();
  EXPECT_EQ(error_of(dir_ / "missing.bin"),
            d + "/missing.bin: token file not found; hint: run `ds data prepare` to make one from text");
  EXPECT_EQ(error_of(dir_), d + ": not a regular file; expected a token file (.bin)");
  EXPECT_EQ(error_of(write_bytes("empty.bin", "", 0)), d + "/empty.bin: token file is empty (got 0 bytes)");
  EXPECT_EQ(error_of(write_bytes("odd.bin", "abc", 3)),
            d + "/odd.bin: file size is not a multiple of the token size (got 3 bytes); expected a multiple of 2 "
                "(uint16); hint: pass the right --dtype, or the file is truncated");
  EXPECT_EQ(error_of(write_llmc<std::uint16_t>("short.bin", 20240520, 1, 5, {1, 2, 3})),
            d + "/short.bin: llm.c header token count does not match the file size (got 5 tokens in the header, 6 "
                "bytes after it); expected 3 uint16 tokens; hint: the file is truncated or was not written by "
                "llm.c/ds");
  EXPECT_EQ(error_of(write_llmc<std::uint16_t>("ver.bin", 20240520, 3, 1, {1})),
            d + "/ver.bin: unsupported llm.c header version for magic 20240520 (got 3); expected 1");
  EXPECT_EQ(error_of(write_llmc<std::uint16_t>("hdr.bin", 20240520, 1, 0, {})),
            d + "/hdr.bin: token file holds no tokens (got a header only)");
  auto g = write_llmc<std::uint16_t>("g.bin", 20240520, 1, 2, {1, 2});
  EXPECT_EQ(error_of(g, {.dtype = TokenDtype::kUint32}),
            d + "/g.bin: token dtype does not match the file (got uint32 asked for); expected uint16 as its llm.c "
                "header says");
  auto v = write_raw<std::uint16_t>("v.bin", {1, 2, 50257, 3});
  EXPECT_EQ(error_of(v, {.dtype = std::nullopt, .check_vocab_size = 50257}),
            d + "/v.bin: token id at index 2 is outside the vocabulary (got 50257); expected ids below 50257; hint: "
                "the file was tokenized for a different model; re-run `ds data prepare` with its tokenizer");
  write_file_atomic(sidecar_path(v), R"({"dtype": "int8"})");
  EXPECT_EQ(error_of(v), d + "/v.bin.json: dtype: unknown token dtype (got 'int8'); expected uint16 or uint32");
  auto f = TokenFile::open(g);
  std::int64_t out[4];
  try {
    f.read(1, 2, out);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), d + "/g.bin: token range out of bounds (got [1, 3)); expected within [0, 2)");
  }
}

TEST_F(TokenFileTest, CopiesShareTheMappingAndOutliveTheOriginal) {
  auto p = write_raw<std::uint16_t>("m.bin", {4, 5});
  std::optional<TokenFile> a = TokenFile::open(p);
  TokenFile b = *a;
  a.reset();
  EXPECT_EQ(b.at(1), 5u);
  EXPECT_EQ(b.at(0), 4u);
}

}  // namespace
}  // namespace ds::engine::data
